#pragma once
namespace flowbp {
const char* version();
}
