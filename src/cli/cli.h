// The ferry command: parses arguments, calls the library, prints, picks the exit code.
// Exit codes: 0 success, 1 failure, 2 usage error, 3 verification mismatch.
#pragma once

#include <string>

#include "ferry/status.h"

namespace ferry::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitMismatch = 3;

int Main(int argc, char** argv);

// Prints "ferry: <message>" on stderr and returns `code`.
int Fail(int code, const std::string& message);
int FailPredictor(const Status& s);  // a predictor that cannot be made: usage, or 1 when the build lacks it

}  // namespace ferry::cli
