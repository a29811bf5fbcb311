// The project's one small, fast, deterministic random number generator and
// its hash, written once: SplitMix64 (a 64-bit counter passed through a strong
// mixing function).
//
// Everything that must replay bit-for-bit from a seed on any machine uses it
// instead of the std:: distributions (whose output differs between standard
// library versions): the environments' reset positions and Bernoulli rewards
// (each instance of a BatchedEnv owns one generator seeded by
// InstanceSeed(seed, index), so instances are independent of each other and
// of the batch size), the baselines' action draws, the learner's dropout
// masks and the window samplers' per-batch seeds (HashSeed). A draw costs a
// handful of instructions.
#ifndef AD_COMMON_RNG_H_
#define AD_COMMON_RNG_H_

#include <cstdint>

namespace ad {

// The golden-ratio increment of the SplitMix64 counter.
inline constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

// The SplitMix64 finaliser: a bijective, well-avalanching 64-bit hash.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The first output of a SplitMix64 generator seeded with `x`: a hash that
// decorrelates nearby seeds, e.g. (seed, batch index) pairs.
constexpr uint64_t HashSeed(uint64_t x) { return Mix64(x + kGoldenGamma); }

// The seed of instance `index` in a batch made with `seed`.
constexpr uint64_t InstanceSeed(uint64_t seed, uint64_t index) {
  return Mix64(Mix64(seed) + kGoldenGamma * (index + 1));
}

class SplitMix64 {
 public:
  explicit constexpr SplitMix64(uint64_t seed) : state_(seed) {}

  constexpr uint64_t Next() {
    state_ += kGoldenGamma;
    return Mix64(state_);
  }

  // Uniform in [0, n) by multiply-high (bias below n / 2^64); n > 0.
  uint32_t NextBelow(uint32_t n) {
    return static_cast<uint32_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }

  // Uniform in [0, 1) with 53 random bits.
  double NextUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace ad

#endif  // AD_COMMON_RNG_H_
