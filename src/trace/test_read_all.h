// ReadAllEvents: drains a trace reader into a vector; for tests.
#pragma once

#include <vector>

#include "ferry/trace.h"

namespace ferry {

inline Result<std::vector<IoEvent>> ReadAllEvents(Result<std::unique_ptr<TraceReader>> reader) {
  if (!reader.ok()) return reader.status();
  std::vector<IoEvent> out;
  IoEvent e;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(bool more, (*reader)->Next(&e));
    if (!more) return out;
    out.push_back(e);
  }
}

}  // namespace ferry
