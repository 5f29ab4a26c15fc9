// ReadAllEvents: drains a trace reader into a vector; for tests.
#pragma once

#include <string>
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

// Read options that collect every warning (and optionally ask for strict parsing).
struct WarningCollector {
  std::vector<std::string> warnings;
  TraceReadOptions Options(bool strict = false) {
    TraceReadOptions o;
    o.strict = strict;
    o.on_warning = [this](const std::string& w) { warnings.push_back(w); };
    return o;
  }
};

}  // namespace ferry
