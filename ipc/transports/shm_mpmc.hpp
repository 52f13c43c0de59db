// shm-mpmc: our bounded multi-producer multi-consumer ring in shared memory, for threads
// and forked processes (a SharedQueue, ipc/core/shared_queue.hpp).
//
// Dmitry Vyukov's bounded MPMC queue: a power-of-two array of fixed-size slots, each
// with a sequence number; a putter claims position p with a compare-exchange on the
// enqueue counter when slot p's number reads p, copies the message in and publishes it
// by storing p + 1 (release); a taker claims p on the dequeue counter when the slot reads
// p + 1, copies it out and frees the slot for the next lap by storing p + slots. Every
// message is taken by exactly one taker, whole; positions are claimed in order, so one
// putter's messages come out in the order it put them.
//
// Waiting: a short spin, then futex(2) on an event count per direction (not empty, not
// full). A waiter registers (waiters + 1, seq_cst), checks again, and sleeps on the event
// word it read before registering; a putter or taker that changed the queue bumps the word
// and wakes one sleeper only when it sees a registered waiter, so the uncontended path
// makes no system call. close() sets a flag in the segment and wakes everyone, in every
// process.
//
// A process killed between claiming and publishing a slot leaves it unpublished: the
// queue stops there (later messages wait behind it). The benchmarks' watchdog sees the
// death (pidfd) and closes the queue, so that is an error, never a wrong figure.
#pragma once

#include <memory>

#include "ipc/core/shared_queue.hpp"

namespace ipc {

// Slots: the smallest power of two >= Options::buffer_bytes / slot size, at least 64 and
// at most 65536; each slot carries up to `max_message` bytes. The segment's name is
// removed at once: it is reached only through the mapping a fork inherits.
std::unique_ptr<SharedQueue> make_shm_mpmc_queue(const Options& options, std::size_t max_message);

// The same with exactly `slots` slots (a power of two >= 2), for tests.
std::unique_ptr<SharedQueue> make_shm_mpmc_queue_with_slots(const Options& options,
                                                            std::size_t max_message,
                                                            std::size_t slots);

}  // namespace ipc
