// The JSON half of anchors.h (the "__improve__" member convention), called by its
// dispatching functions. Internal to src/agents.
#pragma once

#include "agents/anchors.h"

namespace tessera::agents::detail {

std::vector<AnchorSpan> json_parse_anchors(const std::string& text);
std::string json_strip_anchors(const std::string& text);
void json_check_anchors_only(const std::string& source, const std::string& anchored);
std::string json_apply_anchored_edit(const std::string& anchored, const std::string& edited);
std::string json_apply_span_bodies(const std::string& anchored, const std::vector<std::string>& bodies);

}  // namespace tessera::agents::detail
