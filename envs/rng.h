// A small, fast, deterministic random number generator for the environments.
//
// Environments must replay bit-for-bit from a seed on any machine, so they do
// not use the std:: distributions (whose output differs between standard
// library versions). SplitMix64 (a 64-bit counter passed through a strong
// mixing function) is enough for reset positions and Bernoulli rewards, and
// costs a handful of instructions per draw. Each instance of a BatchedEnv owns
// one generator seeded by InstanceSeed(seed, index), so instances are
// independent of each other and of the batch size.
#ifndef AD_ENVS_RNG_H_
#define AD_ENVS_RNG_H_

#include <cstdint>

namespace ad::envs {

// The SplitMix64 finaliser: a bijective, well-avalanching 64-bit hash.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The seed of instance `index` in a batch made with `seed`.
constexpr uint64_t InstanceSeed(uint64_t seed, uint64_t index) {
  return Mix64(Mix64(seed) + 0x9e3779b97f4a7c15ULL * (index + 1));
}

class SplitMix64 {
 public:
  explicit constexpr SplitMix64(uint64_t seed) : state_(seed) {}

  constexpr uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
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

}  // namespace ad::envs

#endif  // AD_ENVS_RNG_H_
