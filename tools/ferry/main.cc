// ferry(1): all the work is in src/cli.
#include "cli/cli.h"

int main(int argc, char** argv) { return ferry::cli::Main(argc, argv); }
