#pragma once
#include <string>
#include <vector>

namespace flowbp {

std::size_t edit_distance(const std::string& a, const std::string& b);

// The closest candidate within a small edit distance, or "" when nothing is close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" — ready to append to an error message.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace flowbp
