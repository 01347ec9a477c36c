// Models answer in Markdown; the code or plan they return is the fenced block in it. One
// block of the expected language is required, so prose around it never reaches a compiler
// and a reply with two candidate blocks is an error rather than a guess.
#pragma once

#include <string>
#include <string_view>

namespace tessera::agents {

// The body of the one ```<language> block in `reply` (an untagged ``` block counts when no
// tagged one exists). Throws tessera::Error when there is none, or more than one.
std::string extract_fenced_block(const std::string& reply, std::string_view language);

}  // namespace tessera::agents
