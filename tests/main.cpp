// The unit tests' main: also the program that a spawned-peer test starts. Run with
// --peer=<entry> (see ipc/run/spawn.hpp), it is that peer and runs no test.
#include <gtest/gtest.h>

#include <optional>

#include "ipc/run/spawn.hpp"

int main(int argc, char** argv) {
  if (std::optional<int> code = ipc::run_peer_mode(argc, argv)) return *code;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
