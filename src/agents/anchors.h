// Grounded anchors: how a plan agent marks exactly what it wants changed, and how a code
// agent's answer is held to those marks (STARK's <<<IMPROVE BEGIN>>> / <<<IMPROVE END>>>).
//
// Source (CUDA, C++): an anchor is a comment on a line of its own, so anchored code still
// compiles:
//     // <<<IMPROVE BEGIN>>> one line of advice
//     /* <<<IMPROVE BEGIN>>> advice that runs
//        over several lines */
//     ...the marked code...
//     // <<<IMPROVE END>>>
// The advice lives in the BEGIN comment, never in lines after it, so stripping anchors
// gives back the source byte for byte (ordinary comments inside a span stay code).
// Spans do not nest; every BEGIN has an END.
//
// JSON (plans): JSON has no comments, so a marked object carries a member
// "__improve__": "advice". The span is that object (its JSON Pointer); marked objects do
// not nest. A code agent answers with the whole document or with a JSON Patch (RFC 6902)
// array; either way every change must lie inside a marked object. Rejections name the
// JSON Pointer where source rejections name the line.
//
// The flow: the plan agent returns the node's source with anchors added; check_anchors_only
// proves it changed nothing else. The code agent returns that text with the spans rewritten
// (anchors kept, for source); apply_anchored_edit takes the new spans, refuses any change
// outside them, and returns the source without anchors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tessera::agents {

enum class AnchorLanguage { Cuda, Cpp, Json };

AnchorLanguage parse_anchor_language(std::string_view name);  // "cuda" | "cpp" | "json"
const char* anchor_language_name(AnchorLanguage language);

inline constexpr std::string_view kImproveBegin = "<<<IMPROVE BEGIN>>>";
inline constexpr std::string_view kImproveEnd = "<<<IMPROVE END>>>";
inline constexpr std::string_view kJsonImproveKey = "__improve__";

struct AnchorSpan {
  std::string advice;   // the plan agent's instruction for this span, trimmed
  std::string body;     // source: the lines between the anchors; JSON: the marked object without its marker
  int begin_line = 0;   // source: 1-based line of the BEGIN anchor's first line
  int end_line = 0;     // source: 1-based line of the END anchor
  std::string pointer;  // JSON: the marked object's JSON Pointer ("" is the whole document)
};

// Every span in `text`, in order. Throws tessera::Error naming the line (or pointer) for
// no anchors, a nested BEGIN, an END without BEGIN, a BEGIN never closed, an anchor that
// is not a comment on its own line, an unknown <<<IMPROVE ...>>> word, invalid JSON or a
// non-string/empty "__improve__".
std::vector<AnchorSpan> parse_anchors(const std::string& text, AnchorLanguage language);

// `text` without its anchors (source: the anchor lines removed; JSON: the markers removed,
// pretty-printed). Throws as parse_anchors does.
std::string strip_anchors(const std::string& text, AnchorLanguage language);

// The plan agent may only add anchors: `anchored` without them must equal `source`
// (source: line by line, trailing spaces ignored; JSON: as values). Throws naming the
// first line (or pointer) that differs.
void check_anchors_only(const std::string& source, const std::string& anchored, AnchorLanguage language);

// The code agent's `edited` answer applied to `anchored`: the result is `anchored` with each
// span's body replaced by the corresponding span of `edited`, anchors removed. Throws when
// `edited` has a different number of spans or changes anything outside them, naming the
// line of `edited` (JSON: the patch operation and its pointer).
std::string apply_anchored_edit(const std::string& anchored, const std::string& edited, AnchorLanguage language);

// Same, from replacement bodies given span by span (a code agent asked for spans only).
std::string apply_span_bodies(const std::string& anchored, const std::vector<std::string>& bodies,
                              AnchorLanguage language);

}  // namespace tessera::agents
