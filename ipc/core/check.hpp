// IPC_CHECK: for programming errors only; prints the condition and aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

#define IPC_CHECK(cond, msg)                                                                     \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "%s:%d: IPC_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, msg); \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)
