// Anchors in source text (CUDA, C++), and the dispatch to the JSON convention. Everything
// works on lines because an anchor is a whole-line comment: a line is outside every span,
// inside one, or part of an anchor, and comparisons outside spans are line by line so a
// rejection can name the exact line. Trailing whitespace and CR are ignored when comparing
// (models and editors disagree about them) but the result keeps the original's lines.
#include "agents/anchors.h"

#include "agents/anchors_json.h"
#include "core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace tessera::agents {

AnchorLanguage parse_anchor_language(std::string_view name) {
  if (name == "cuda") return AnchorLanguage::Cuda;
  if (name == "cpp" || name == "c++") return AnchorLanguage::Cpp;
  if (name == "json") return AnchorLanguage::Json;
  fail("unknown anchor language '{}' (expected cuda, cpp or json)", name);
}

const char* anchor_language_name(AnchorLanguage language) {
  switch (language) {
    case AnchorLanguage::Cuda: return "cuda";
    case AnchorLanguage::Cpp: return "cpp";
    case AnchorLanguage::Json: return "json";
  }
  return "?";
}

namespace {

constexpr std::string_view kMarkerStem = "<<<IMPROVE";

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string_view rtrim(std::string_view s) {
  const size_t e = s.find_last_not_of(" \t\r");
  return e == std::string_view::npos ? std::string_view{} : s.substr(0, e + 1);
}

std::string quote(std::string_view line) {
  std::string s(trim(line));
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return "'" + s + "'";
}

struct Span {
  size_t begin_first, begin_last, end;  // 0-based line indices of the anchors
  std::string advice;
};

struct Parsed {
  std::vector<std::string> lines;
  bool trailing_newline = false;
  std::vector<Span> spans;

  // Lines outside spans between span k-1 and span k (k = 0..spans.size()), as [from, to).
  std::pair<size_t, size_t> segment(size_t k) const {
    const size_t from = k == 0 ? 0 : spans[k - 1].end + 1;
    const size_t to = k == spans.size() ? lines.size() : spans[k].begin_first;
    return {from, to};
  }
  std::vector<std::string> body_lines(size_t k) const {
    return {lines.begin() + spans[k].begin_last + 1, lines.begin() + spans[k].end};
  }
};

std::vector<std::string> split_lines(const std::string& text, bool* trailing_newline) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  if (trailing_newline) *trailing_newline = !text.empty() && text.back() == '\n';
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines, bool trailing_newline) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += lines[i];
  }
  if (trailing_newline && !lines.empty()) out += '\n';
  return out;
}

enum class Word { Begin, End };

// The anchor starting on line i, or nullopt when the line has no marker. Sets `last` to the
// line where the anchor comment ends and `advice` to its text.
std::optional<Word> read_anchor(const std::vector<std::string>& lines, size_t i, size_t* last, std::string* advice) {
  const std::string& line = lines[i];
  if (line.find(kMarkerStem) == std::string::npos) return std::nullopt;
  const std::string_view t = trim(line);
  const bool line_comment = t.substr(0, 2) == "//";
  const bool block_comment = t.substr(0, 2) == "/*";
  if (!line_comment && !block_comment)
    fail("line {}: an anchor must be a comment on a line of its own ('// {} advice'), found {}", i + 1,
         kImproveBegin, quote(line));
  std::string_view rest = trim(t.substr(2));
  Word word;
  if (rest.substr(0, kImproveBegin.size()) == kImproveBegin) {
    word = Word::Begin;
    rest.remove_prefix(kImproveBegin.size());
  } else if (rest.substr(0, kImproveEnd.size()) == kImproveEnd) {
    word = Word::End;
    rest.remove_prefix(kImproveEnd.size());
  } else if (rest.substr(0, kMarkerStem.size()) == kMarkerStem) {
    fail("line {}: unknown anchor {} (expected {} or {})", i + 1, quote(rest.substr(0, rest.find(">>>") + 3)),
         kImproveBegin, kImproveEnd);
  } else {
    fail("line {}: the anchor must open its comment ('// {} advice'), found {}", i + 1, kImproveBegin, quote(line));
  }
  *last = i;
  std::string text;
  if (line_comment) {
    text = std::string(trim(rest));
  } else {
    // A block comment: the advice runs to "*/", which must end its line.
    std::string_view cur = rest;
    for (size_t j = i;; ) {
      const size_t close = cur.find("*/");
      if (close != std::string_view::npos) {
        if (!trim(cur.substr(close + 2)).empty())
          fail("line {}: code after the anchor comment; an anchor must be a line of its own", j + 1);
        if (!text.empty()) text += '\n';
        text += trim(cur.substr(0, close));
        *last = j;
        break;
      }
      if (!trim(cur).empty()) {
        if (!text.empty()) text += '\n';
        text += trim(cur);
      }
      if (++j == lines.size()) fail("line {}: the anchor comment is never closed with */", i + 1);
      if (lines[j].find(kMarkerStem) != std::string::npos)
        fail("line {}: an anchor inside the unclosed anchor comment of line {}", j + 1, i + 1);
      cur = lines[j];
    }
  }
  *advice = std::string(trim(text));
  return word;
}

Parsed parse_source(const std::string& text) {
  Parsed p;
  p.lines = split_lines(text, &p.trailing_newline);
  std::optional<Span> open;
  for (size_t i = 0; i < p.lines.size(); ++i) {
    size_t last = i;
    std::string advice;
    const auto word = read_anchor(p.lines, i, &last, &advice);
    if (!word) continue;
    if (*word == Word::Begin) {
      if (open)
        fail("line {}: {} inside the span opened at line {} (spans do not nest)", i + 1, kImproveBegin,
             open->begin_first + 1);
      open = Span{i, last, 0, advice};
    } else {
      if (!open) fail("line {}: {} without a matching {}", i + 1, kImproveEnd, kImproveBegin);
      open->end = i;
      p.spans.push_back(*open);
      open.reset();
    }
    i = last;
  }
  if (open) fail("line {}: {} is never closed by {}", open->begin_first + 1, kImproveBegin, kImproveEnd);
  if (p.spans.empty()) fail("no {} anchor found: mark the code to change with // {} ... // {}", kImproveBegin,
                            kImproveBegin, kImproveEnd);
  return p;
}

// Compares `want` (lines of the reference) with `got` (lines of the candidate, numbered
// from `got_first_line`), naming the first difference.
void expect_same_lines(const std::vector<std::string>& want, const std::vector<std::string>& got,
                       const std::vector<size_t>& got_line_numbers, const std::vector<size_t>& want_line_numbers,
                       const char* what) {
  const size_t n = std::min(want.size(), got.size());
  for (size_t i = 0; i < n; ++i)
    if (rtrim(want[i]) != rtrim(got[i]))
      fail("line {}: {} outside every marked span: expected {} (line {} of the original), found {}",
           got_line_numbers[i], what, quote(want[i]), want_line_numbers[i], quote(got[i]));
  if (got.size() > n)
    fail("line {}: {} outside every marked span: line {} is not in the original", got_line_numbers[n], what,
         quote(got[n]));
  if (want.size() > n)
    fail("{} outside every marked span: line {} of the original, {}, is missing{}", what, want_line_numbers[n],
         quote(want[n]),
         got_line_numbers.empty() ? std::string() : fmt::format(" after line {}", got_line_numbers.back()));
}

}  // namespace

std::vector<AnchorSpan> parse_anchors(const std::string& text, AnchorLanguage language) {
  if (language == AnchorLanguage::Json) return detail::json_parse_anchors(text);
  const Parsed p = parse_source(text);
  std::vector<AnchorSpan> out;
  for (size_t k = 0; k < p.spans.size(); ++k) {
    AnchorSpan s;
    s.advice = p.spans[k].advice;
    s.body = join_lines(p.body_lines(k), false);
    s.begin_line = static_cast<int>(p.spans[k].begin_first + 1);
    s.end_line = static_cast<int>(p.spans[k].end + 1);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

// Lines of `p` that are not anchors, with their 1-based line numbers.
void unanchored(const Parsed& p, std::vector<std::string>* lines, std::vector<size_t>* numbers) {
  size_t k = 0;
  for (size_t i = 0; i < p.lines.size(); ++i) {
    if (k < p.spans.size() && i >= p.spans[k].begin_first && i <= p.spans[k].begin_last) continue;
    if (k < p.spans.size() && i == p.spans[k].end) {
      ++k;
      continue;
    }
    lines->push_back(p.lines[i]);
    numbers->push_back(i + 1);
  }
}

}  // namespace

std::string strip_anchors(const std::string& text, AnchorLanguage language) {
  if (language == AnchorLanguage::Json) return detail::json_strip_anchors(text);
  const Parsed p = parse_source(text);
  std::vector<std::string> lines;
  std::vector<size_t> numbers;
  unanchored(p, &lines, &numbers);
  return join_lines(lines, p.trailing_newline);
}

void check_anchors_only(const std::string& source, const std::string& anchored, AnchorLanguage language) {
  if (language == AnchorLanguage::Json) return detail::json_check_anchors_only(source, anchored);
  const Parsed p = parse_source(anchored);
  std::vector<std::string> got;
  std::vector<size_t> got_numbers;
  unanchored(p, &got, &got_numbers);
  const std::vector<std::string> want = split_lines(source, nullptr);
  std::vector<size_t> want_numbers(want.size());
  for (size_t i = 0; i < want.size(); ++i) want_numbers[i] = i + 1;
  // The anchored text is compared whole, spans included: the plan agent only marks.
  const size_t n = std::min(want.size(), got.size());
  for (size_t i = 0; i < n; ++i)
    if (rtrim(want[i]) != rtrim(got[i]))
      fail("line {}: the anchored text changes the source (the plan agent may only add anchors): expected {} "
           "(source line {}), found {}",
           got_numbers[i], quote(want[i]), i + 1, quote(got[i]));
  if (got.size() != want.size())
    fail("the anchored text has {} lines besides its anchors, the source {}: the plan agent may only add anchors",
         got.size(), want.size());
}

std::string apply_anchored_edit(const std::string& anchored, const std::string& edited, AnchorLanguage language) {
  if (language == AnchorLanguage::Json) return detail::json_apply_anchored_edit(anchored, edited);
  const Parsed a = parse_source(anchored);
  const Parsed e = parse_source(edited);
  if (a.spans.size() != e.spans.size())
    fail("the edit has {} marked span{}, the anchored source {}: keep every {} / {} pair and change only "
         "what lies between them",
         e.spans.size(), e.spans.size() == 1 ? "" : "s", a.spans.size(), kImproveBegin, kImproveEnd);
  std::vector<std::string> out;
  for (size_t k = 0; k <= a.spans.size(); ++k) {
    const auto [af, at] = a.segment(k);
    const auto [ef, et] = e.segment(k);
    std::vector<std::string> want(a.lines.begin() + af, a.lines.begin() + at);
    std::vector<std::string> got(e.lines.begin() + ef, e.lines.begin() + et);
    std::vector<size_t> want_numbers, got_numbers;
    for (size_t i = af; i < at; ++i) want_numbers.push_back(i + 1);
    for (size_t i = ef; i < et; ++i) got_numbers.push_back(i + 1);
    expect_same_lines(want, got, got_numbers, want_numbers, "the edit changes code");
    out.insert(out.end(), want.begin(), want.end());
    if (k < a.spans.size()) {
      const auto body = e.body_lines(k);
      out.insert(out.end(), body.begin(), body.end());
    }
  }
  return join_lines(out, a.trailing_newline);
}

std::string apply_span_bodies(const std::string& anchored, const std::vector<std::string>& bodies,
                              AnchorLanguage language) {
  if (language == AnchorLanguage::Json) return detail::json_apply_span_bodies(anchored, bodies);
  const Parsed a = parse_source(anchored);
  if (bodies.size() != a.spans.size())
    fail("{} replacement bodies for {} marked spans", bodies.size(), a.spans.size());
  std::vector<std::string> out;
  for (size_t k = 0; k <= a.spans.size(); ++k) {
    const auto [af, at] = a.segment(k);
    out.insert(out.end(), a.lines.begin() + af, a.lines.begin() + at);
    if (k < a.spans.size()) {
      if (bodies[k].find(kMarkerStem) != std::string::npos)
        fail("replacement body {} contains an anchor; give only the code between the anchors", k + 1);
      std::string body = bodies[k];
      if (!body.empty() && body.back() == '\n') body.pop_back();
      if (!body.empty()) {
        const auto lines = split_lines(body, nullptr);
        out.insert(out.end(), lines.begin(), lines.end());
      }
    }
  }
  return join_lines(out, a.trailing_newline);
}

}  // namespace tessera::agents
