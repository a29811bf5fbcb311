// This process's memory as the kernel accounts it: resident set size now
// and its peak (the high-water mark since start), from /proc/self/status.
// Benchmarks print them beside their figures and long-running services log
// them, so that growth over a long run shows up as a curve, not a guess.
//
// Each call reads /proc/self/status (a few microseconds); fine once per
// checkpoint or benchmark round, not per step. Thread-safe.
#ifndef AD_COMMON_MEMORY_H_
#define AD_COMMON_MEMORY_H_

namespace ad {

// Resident set size (VmRSS) in MiB; 0 where /proc is not available.
double ResidentMb();

// Peak resident set size (VmHWM) in MiB; 0 where /proc is not available.
double PeakResidentMb();

}  // namespace ad

#endif  // AD_COMMON_MEMORY_H_
