// One line of text per Plan, every field that reaches the engine or the log, reals to
// 13 significant digits: for golden files (spec-v1 plans equal the first edition's)
// and for the sampler checks' draws. Torch-free.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "flowbp/plan.h"

namespace plugtest {

// 13 significant digits: far below any difference a method's rules make, above the
// last-bit round-off of computing the same weights another way (the quadrature was
// made stable after the golden file was first recorded).
inline std::string real_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.13g", v);
  return buf;
}

inline std::string plan_text(const flowbp::Plan& plan) {
  using namespace flowbp;
  std::string out = "j=" + std::to_string(plan.j) + " s=" + std::to_string(plan.s) +
                    " rho=" + real_text(plan.grad_rescale_factor) + " tw=" + std::to_string(plan.trajectory_weighting) +
                    " twn=" + std::to_string(plan.trajectory_weighting_normalize) +
                    " floor=" + real_text(plan.residual_floor) + " active=";
  for (std::size_t k = 0; k < plan.active.size(); ++k) out += (k ? "," : "") + std::to_string(plan.active[k]);
  for (const auto& program : plan.programs) {
    out += " | start=" + std::string(program.start.kind == Start::Kind::Cached ? "C" : "R") + ":" +
           std::to_string(program.start.index) + ":" + std::to_string(program.start.source_program) + ":" +
           std::to_string(program.start.noise_stream);
    for (const auto& segment : program.segments) {
      out += " seg " + std::to_string(segment.from) + "->" + std::to_string(segment.to) + " pin=" + to_string(segment.pin);
      for (const auto& term : segment.terms)
        out += " [" + std::to_string(term.index) + ":" + real_text(term.weight) + ":" + std::to_string(term.active) +
               ":" + to_string(term.input) + ":" + real_text(term.beta) + ":" + real_text(term.grad_scale) + "]";
    }
  }
  return out;
}

}  // namespace plugtest

namespace plugtest {

// FNV-1a 64 of a text, as 16 hex digits (golden files store hashes of many plans).
inline std::string fnv1a(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The text with every " rho=<value>" field removed (for plans whose logged factor
// changed meaning while the plan did not).
inline std::string without_rho(const std::string& text) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t r = text.find(" rho=", at);
    if (r == std::string::npos) break;
    out += text.substr(at, r - at);
    at = text.find(' ', r + 1);
    if (at == std::string::npos) return out;
  }
  return out + text.substr(at);
}

}  // namespace plugtest
