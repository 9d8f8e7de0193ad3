// Cost of argon2id password hashing at tongban's default parameters (libsodium
// "interactive": 2 passes, 64 MiB), which bounds logins per second per core.
// The baseline is the same call at libsodium's minimum parameters.
#include <benchmark/benchmark.h>

#include <string>

#include "crypto/digest.h"
#include "crypto/password.h"

namespace tongban::crypto {
namespace {

const PasswordParams kMinimum{1, 8192};

void BM_BaselineHashPasswordMinimumParams(benchmark::State& state) {
  for (auto _ : state) {
    auto hash = HashPassword("correct horse battery staple", kMinimum);
    benchmark::DoNotOptimize(hash);
  }
}
BENCHMARK(BM_BaselineHashPasswordMinimumParams)->Unit(benchmark::kMicrosecond);

void BM_HashPasswordDefaultParams(benchmark::State& state) {
  for (auto _ : state) {
    auto hash = HashPassword("correct horse battery staple");
    benchmark::DoNotOptimize(hash);
  }
}
BENCHMARK(BM_HashPasswordDefaultParams)->Unit(benchmark::kMillisecond);

void BM_VerifyPasswordDefaultParams(benchmark::State& state) {
  const std::string stored = HashPassword("correct horse battery staple").value();
  for (auto _ : state) {
    VerifyOutcome outcome = VerifyPassword(stored, "correct horse battery staple");
    benchmark::DoNotOptimize(outcome);
  }
}
BENCHMARK(BM_VerifyPasswordDefaultParams)->Unit(benchmark::kMillisecond);

void BM_VerifyLegacyMd5(benchmark::State& state) {
  const std::string stored = "md5$" + Md5Hex("correct horse battery staple");
  for (auto _ : state) {
    VerifyOutcome outcome = VerifyPassword(stored, "correct horse battery staple");
    benchmark::DoNotOptimize(outcome);
  }
}
BENCHMARK(BM_VerifyLegacyMd5);

}  // namespace
}  // namespace tongban::crypto
