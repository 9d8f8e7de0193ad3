// Packed records: how sessions, grants and CAS tickets are written into the
// TicketStore. Fields are joined by '|'; '%' and '|' inside a field are
// escaped as %25 and %7C, so any text (an imported userid, a login name, a
// service URL) survives the round trip. Every validation decodes a record and
// every issue encodes one, so this is a hot path: no JSON, runs of plain
// bytes copied at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tongban::sso {

std::string Pack(std::initializer_list<std::string_view> fields);
// Packs a list of non-empty strings into one field; PackList({}) is "".
std::string PackList(const std::vector<std::string>& items);

std::string Unescape(std::string_view field);
std::vector<std::string> Unpack(std::string_view record);
// The inverse of PackList: "" is the empty list.
std::vector<std::string> UnpackList(std::string_view field);

// An integer field as std::to_string wrote it: the whole text, nothing else.
bool ParseIntField(std::string_view text, int64_t* out);

// The still-escaped fields of a record, when it has exactly N of them.
template <size_t N>
std::optional<std::array<std::string_view, N>> SplitRecord(std::string_view record) {
  std::array<std::string_view, N> fields;
  for (size_t i = 0; i < N; ++i) {
    size_t bar = record.find('|');
    if ((bar == std::string_view::npos) != (i == N - 1)) return std::nullopt;
    fields[i] = record.substr(0, bar);
    if (bar != std::string_view::npos) record.remove_prefix(bar + 1);
  }
  return fields;
}

}  // namespace tongban::sso
