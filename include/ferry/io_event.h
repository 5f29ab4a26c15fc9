// ferry/io_event.h: one block I/O request, the unit of every trace and of the access
// stream that the heat map, the predictors, the simulator and the engine's recorder
// share. The trace readers (ferry/trace.h) produce them.
#pragma once

#include <chrono>
#include <cstdint>

namespace ferry {

enum class IoOp : uint8_t { kRead, kWrite };

struct IoEvent {
  std::chrono::nanoseconds time{0};  // since the first record of the trace
  uint64_t offset = 0;               // bytes
  uint64_t length = 0;               // bytes
  IoOp op = IoOp::kRead;
  uint32_t device = 0;               // device (disk) number within the trace
};

}  // namespace ferry
