#include "codec/xlsx.h"

#include <minizip/unzip.h>
#include <minizip/zip.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <set>

#include "codec/text_internal.h"
#include "codec/xml_internal.h"
#include "core/utf8.h"

namespace tongban::codec {
namespace {

constexpr std::size_t kMaxRows = 1048576;
constexpr std::size_t kMaxColumns = 16384;
constexpr std::size_t kMaxCellChars = 32767;  // Excel's limit, in UTF-16 code units
constexpr std::size_t kRatioCheckedAbove = 1 << 20;

constexpr std::string_view kXmlDeclaration =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
constexpr std::string_view kMainNs = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
constexpr std::string_view kRelNs =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
constexpr std::string_view kPackageRelNs =
    "http://schemas.openxmlformats.org/package/2006/relationships";

// ---- zip files in memory: minizip's I/O callbacks over a string ----

struct MemoryStream {
  std::string written;        // the archive being written
  std::string_view readable;  // the archive being read
  std::size_t position = 0;
  bool writing = false;

  std::size_t size() const { return writing ? written.size() : readable.size(); }
};

voidpf ZCALLBACK OpenMemory(voidpf opaque, const char*, int) { return opaque; }

uLong ZCALLBACK ReadMemory(voidpf, voidpf stream, void* buf, uLong size) {
  auto* m = static_cast<MemoryStream*>(stream);
  const std::string_view data = m->writing ? std::string_view(m->written) : m->readable;
  if (m->position >= data.size()) return 0;
  const std::size_t n = std::min<std::size_t>(size, data.size() - m->position);
  std::memcpy(buf, data.data() + m->position, n);
  m->position += n;
  return static_cast<uLong>(n);
}

uLong ZCALLBACK WriteMemory(voidpf, voidpf stream, const void* buf, uLong size) {
  auto* m = static_cast<MemoryStream*>(stream);
  if (!m->writing) return 0;
  if (m->position + size > m->written.size()) m->written.resize(m->position + size);
  std::memcpy(m->written.data() + m->position, buf, size);
  m->position += size;
  return size;
}

long ZCALLBACK TellMemory(voidpf, voidpf stream) {
  return static_cast<long>(static_cast<MemoryStream*>(stream)->position);
}

long ZCALLBACK SeekMemory(voidpf, voidpf stream, uLong offset, int origin) {
  auto* m = static_cast<MemoryStream*>(stream);
  std::size_t base = 0;
  switch (origin) {
    case ZLIB_FILEFUNC_SEEK_SET:
      base = 0;
      break;
    case ZLIB_FILEFUNC_SEEK_CUR:
      base = m->position;
      break;
    case ZLIB_FILEFUNC_SEEK_END:
      base = m->size();
      break;
    default:
      return -1;
  }
  // minizip passes negative offsets from the end as the unsigned wrap-around.
  const std::size_t target = base + static_cast<std::size_t>(offset);
  if (target > m->size()) return -1;
  m->position = target;
  return 0;
}

int ZCALLBACK CloseMemory(voidpf, voidpf) { return 0; }
int ZCALLBACK ErrorMemory(voidpf, voidpf) { return 0; }

zlib_filefunc_def MemoryFunctions(MemoryStream* stream) {
  zlib_filefunc_def f{};
  f.zopen_file = OpenMemory;
  f.zread_file = ReadMemory;
  f.zwrite_file = WriteMemory;
  f.ztell_file = TellMemory;
  f.zseek_file = SeekMemory;
  f.zclose_file = CloseMemory;
  f.zerror_file = ErrorMemory;
  f.opaque = stream;
  return f;
}

// ---- writing ----

// Appends one code point as UTF-8.
void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// Whether s[i..] is an escape "_xHHHH_" of OOXML's ST_Xstring.
bool IsXstringEscapeAt(std::string_view s, std::size_t i) {
  return i + 7 <= s.size() && s[i] == '_' && s[i + 1] == 'x' && IsHex(s[i + 2]) &&
         IsHex(s[i + 3]) && IsHex(s[i + 4]) && IsHex(s[i + 5]) && s[i + 6] == '_';
}

// Cell text as XML character data: & < > escaped, CR as &#13; (end-of-line handling would turn
// a raw one into LF), characters XML 1.0 forbids and ill-formed UTF-8 dropped, and a literal
// "_xHHHH_" protected as "_x005F_xHHHH_" so readers do not decode it. Returns the length in
// UTF-16 code units, which is what Excel's cell limit counts.
std::size_t AppendCellText(std::string_view s, std::string* out) {
  std::size_t units = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = internal::Utf8SequenceLength(s, i);
    if (n == 0) {
      ++i;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 1) {
      switch (c) {
        case '&':
          out->append("&amp;");
          break;
        case '<':
          out->append("&lt;");
          break;
        case '>':
          out->append("&gt;");
          break;
        case '\r':
          out->append("&#13;");
          break;
        case '\t':
        case '\n':
          out->push_back(static_cast<char>(c));
          break;
        case '_':
          out->append(IsXstringEscapeAt(s, i) ? "_x005F_" : "_");
          break;
        default:
          if (c >= 0x20) out->push_back(static_cast<char>(c));
          break;  // other C0 controls cannot appear in XML 1.0
      }
      if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ++units;
    } else {
      // U+FFFE and U+FFFF (EF BF BE / EF BF BF) are not XML characters.
      const bool non_character = n == 3 && c == 0xEF &&
                                 static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                                 static_cast<unsigned char>(s[i + 2]) >= 0xBE;
      if (!non_character) {
        out->append(s.substr(i, n));
        units += n == 4 ? 2 : 1;
      }
    }
    i += n;
  }
  return units;
}

bool NeedsQuotePrefix(std::string_view text) {
  return !text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@');
}

std::string LowerAscii(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

Status CheckSheetName(std::string_view name, std::set<std::string>* seen) {
  const std::string shown = internal::Printable(name);
  if (name.empty()) return Error::InvalidArgument("a sheet has no name");
  if (!IsValidUtf8(name)) return Error::InvalidArgument("sheet name is not UTF-8: " + shown);
  std::size_t units = 0;
  for (std::size_t i = 0; i < name.size();) {
    const std::size_t n = internal::Utf8SequenceLength(name, i);
    const char c = name[i];
    if (n == 1 && (static_cast<unsigned char>(c) < 0x20 || std::strchr("[]:*?/\\", c) != nullptr)) {
      return Error::InvalidArgument("sheet name " + shown +
                                    " holds a character Excel forbids ([]:*?/\\ or a control)");
    }
    units += n == 4 ? 2 : 1;
    i += n;
  }
  if (units > 31) return Error::InvalidArgument("sheet name " + shown + " is over 31 characters");
  if (name.front() == '\'' || name.back() == '\'') {
    return Error::InvalidArgument("sheet name " + shown + " starts or ends with an apostrophe");
  }
  const std::string lower = LowerAscii(name);
  if (lower == "history") return Error::InvalidArgument("sheet name History is reserved by Excel");
  if (!seen->insert(lower).second) {
    return Error::InvalidArgument("sheet name " + shown + " is used twice");
  }
  return Status::Ok();
}

Result<std::string> SheetXml(const Sheet& sheet) {
  if (sheet.rows.size() > kMaxRows) {
    return Error::InvalidArgument("sheet " + internal::Printable(sheet.name) + " has more than " +
                                  std::to_string(kMaxRows) + " rows");
  }
  std::string xml(kXmlDeclaration);
  xml.append("<worksheet xmlns=\"").append(kMainNs).append("\"><sheetData>");
  for (std::size_t r = 0; r < sheet.rows.size(); ++r) {
    const std::vector<Cell>& row = sheet.rows[r];
    if (row.size() > kMaxColumns) {
      return Error::InvalidArgument("row " + std::to_string(r + 1) + " of sheet " +
                                    internal::Printable(sheet.name) + " has more than " +
                                    std::to_string(kMaxColumns) + " columns");
    }
    if (std::all_of(row.begin(), row.end(), [](const Cell& c) { return c.empty(); })) continue;
    xml.append("<row r=\"").append(std::to_string(r + 1)).append("\">");
    for (std::size_t col = 0; col < row.size(); ++col) {
      const Cell& cell = row[col];
      const std::string ref = CellReference(r, col);
      switch (cell.type) {
        case Cell::Type::kEmpty:
          break;
        case Cell::Type::kText: {
          xml.append("<c r=\"").append(ref).append("\" t=\"inlineStr\"");
          if (NeedsQuotePrefix(cell.text)) xml.append(" s=\"1\"");
          xml.append("><is><t xml:space=\"preserve\">");
          if (AppendCellText(cell.text, &xml) > kMaxCellChars) {
            return Error::InvalidArgument("cell " + ref + " of sheet " +
                                          internal::Printable(sheet.name) + " is longer than " +
                                          std::to_string(kMaxCellChars) + " characters");
          }
          xml.append("</t></is></c>");
          break;
        }
        case Cell::Type::kNumber: {
          if (!std::isfinite(cell.number)) {
            return Error::InvalidArgument("cell " + ref + " of sheet " +
                                          internal::Printable(sheet.name) +
                                          " is not a finite number");
          }
          char buf[32];
          const auto res = std::to_chars(buf, buf + sizeof buf, cell.number);
          xml.append("<c r=\"").append(ref).append("\"><v>");
          xml.append(buf, res.ptr).append("</v></c>");
          break;
        }
        case Cell::Type::kBoolean:
          xml.append("<c r=\"").append(ref).append("\" t=\"b\"><v>");
          xml.append(cell.number != 0 ? "1" : "0").append("</v></c>");
          break;
      }
    }
    xml.append("</row>");
  }
  xml.append("</sheetData></worksheet>");
  return xml;
}

// Style 0 is the default; style 1 carries quotePrefix, Excel's "this is text, not a formula".
constexpr std::string_view kStylesXml =
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<fonts count=\"1\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>"
    "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>"
    "<fill><patternFill patternType=\"gray125\"/></fill></fills>"
    "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/>"
    "</cellStyleXfs>"
    "<cellXfs count=\"2\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" quotePrefix=\"1\"/>"
    "</cellXfs>"
    "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
    "</styleSheet>";

// Writes the named parts into a zip in memory.
Result<std::string> ZipParts(const std::vector<std::pair<std::string, std::string>>& parts) {
  MemoryStream stream;
  stream.writing = true;
  zlib_filefunc_def functions = MemoryFunctions(&stream);
  zipFile zip = zipOpen2("memory", APPEND_STATUS_CREATE, nullptr, &functions);
  if (zip == nullptr) return Error::Internal("xlsx: cannot start a zip archive");
  // A fixed timestamp (1980-01-01) so the same sheets give the same bytes.
  zip_fileinfo info{};
  info.tmz_date.tm_year = 1980;
  info.tmz_date.tm_mday = 1;
  for (const auto& [name, content] : parts) {
    int rc = zipOpenNewFileInZip(zip, name.c_str(), &info, nullptr, 0, nullptr, 0, nullptr,
                                 Z_DEFLATED, Z_DEFAULT_COMPRESSION);
    if (rc == ZIP_OK)
      rc = zipWriteInFileInZip(zip, content.data(), static_cast<unsigned>(content.size()));
    if (rc == ZIP_OK) rc = zipCloseFileInZip(zip);
    if (rc != ZIP_OK) {
      zipClose(zip, nullptr);
      return Error::Internal("xlsx: writing " + name + " into the zip failed (" +
                             std::to_string(rc) + ")");
    }
  }
  if (zipClose(zip, nullptr) != ZIP_OK) return Error::Internal("xlsx: closing the zip failed");
  return std::move(stream.written);
}

// ---- reading ----

// One zip archive being read, with the budget of bytes it may inflate.
class ZipReader {
 public:
  ZipReader(std::string_view bytes, const XlsxLimits& limits) : limits_(limits) {
    stream_.readable = bytes;
    functions_ = MemoryFunctions(&stream_);
  }
  ~ZipReader() {
    if (zip_ != nullptr) unzClose(zip_);
  }
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  Status Open() {
    zip_ = unzOpen2("memory", &functions_);
    if (zip_ == nullptr) {
      return Error::InvalidArgument("xlsx: not a zip archive (or a truncated one)");
    }
    unz_global_info64 global{};
    if (unzGetGlobalInfo64(zip_, &global) != UNZ_OK) {
      return Error::InvalidArgument("xlsx: the zip directory is unreadable");
    }
    if (global.number_entry > limits_.max_entries) {
      return Error::TooLarge("xlsx: the zip holds " + std::to_string(global.number_entry) +
                             " entries, more than " + std::to_string(limits_.max_entries));
    }
    return Status::Ok();
  }

  // The inflated content of entry `name`, or nullopt when the archive has none.
  Result<std::optional<std::string>> Read(const std::string& name) {
    if (unzLocateFile(zip_, name.c_str(), 1) != UNZ_OK) return std::optional<std::string>();
    unz_file_info64 info{};
    if (unzGetCurrentFileInfo64(zip_, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK) {
      return Error::InvalidArgument("xlsx: the zip entry of " + name + " is unreadable");
    }
    if (info.flag & 1) return Error::InvalidArgument("xlsx: " + name + " is encrypted");
    const std::size_t budget = limits_.max_uncompressed_bytes - inflated_;
    if (info.uncompressed_size > budget) {
      return Error::TooLarge("xlsx: the parts inflate to more than " +
                             std::to_string(limits_.max_uncompressed_bytes) + " bytes");
    }
    if (info.uncompressed_size > kRatioCheckedAbove &&
        static_cast<double>(info.uncompressed_size) >
            static_cast<double>(info.compressed_size) * limits_.max_ratio) {
      return Error::TooLarge(
          "xlsx: " + name + " inflates " +
          std::to_string(info.uncompressed_size / std::max<ZPOS64_T>(info.compressed_size, 1)) +
          " times its compressed size; refused as a zip bomb");
    }
    if (unzOpenCurrentFile(zip_) != UNZ_OK) {
      return Error::InvalidArgument("xlsx: " + name +
                                    " cannot be opened (unsupported compression or damaged)");
    }
    // minizip stops at the declared size; a larger real content fails the CRC check below.
    std::string content(static_cast<std::size_t>(info.uncompressed_size), '\0');
    std::size_t got = 0;
    while (got < content.size()) {
      const int n = unzReadCurrentFile(
          zip_, content.data() + got,
          static_cast<unsigned>(std::min<std::size_t>(content.size() - got, 1 << 20)));
      if (n < 0) {
        unzCloseCurrentFile(zip_);
        return Error::InvalidArgument("xlsx: " + name + " cannot be inflated (zip error " +
                                      std::to_string(n) + ")");
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    content.resize(got);
    if (unzCloseCurrentFile(zip_) != UNZ_OK || got != info.uncompressed_size) {
      return Error::InvalidArgument("xlsx: " + name + " is damaged (size or CRC mismatch)");
    }
    inflated_ += got;
    return std::optional<std::string>(std::move(content));
  }

  std::size_t remaining() const { return limits_.max_uncompressed_bytes - inflated_; }

  // Charges what parsing `content` can allocate to the workbook's node budget: at most one
  // node per '<' (an element) and one per text between tags, one attribute per '='.
  Status SpendXmlNodes(std::string_view content, const std::string& name) {
    std::size_t tags = 0, equals = 0;
    for (char c : content) {
      tags += c == '<';
      equals += c == '=';
    }
    const std::size_t nodes = 2 * tags + equals + 1;
    if (nodes > limits_.max_xml_nodes - xml_nodes_) {
      return Error::TooLarge("xlsx: " + name + " holds more XML nodes than the limit allows (" +
                             std::to_string(limits_.max_xml_nodes) + " in all parts)");
    }
    xml_nodes_ += nodes;
    return Status::Ok();
  }

 private:
  XlsxLimits limits_;
  MemoryStream stream_;
  zlib_filefunc_def functions_{};
  unzFile zip_ = nullptr;
  std::size_t inflated_ = 0;
  std::size_t xml_nodes_ = 0;
};

Status LoadPart(ZipReader& zip, const std::string& content, const std::string& name,
                pugi::xml_document* doc) {
  TB_RETURN_IF_ERROR(zip.SpendXmlNodes(content, name));
  ParseLimits limits;
  limits.max_bytes = content.size();
  return internal::LoadXml(content, limits, "xlsx part " + name, doc);
}

Result<std::string> ReadRequiredXml(ZipReader& zip, const std::string& name,
                                    pugi::xml_document* doc) {
  auto content = zip.Read(name);
  if (!content.ok()) return std::move(content).error();
  if (!content->has_value()) return Error::InvalidArgument("xlsx: the workbook has no " + name);
  TB_RETURN_IF_ERROR(LoadPart(zip, **content, name, doc));
  return name;
}

std::string_view Local(const pugi::xml_node& node) { return internal::LocalName(node.name()); }

pugi::xml_node Child(const pugi::xml_node& parent, std::string_view local_name) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && Local(c) == local_name) return c;
  }
  return {};
}

// The relationship id attribute (r:id, whatever the prefix).
std::string_view RelationshipId(const pugi::xml_node& node) {
  for (const pugi::xml_attribute& a : node.attributes()) {
    const std::string_view name = a.name();
    if (name.find(':') != std::string_view::npos && internal::LocalName(a.name()) == "id") {
      return a.value();
    }
  }
  return {};
}

// "xl/" for "xl/workbook.xml".
std::string Directory(std::string_view part) {
  const std::size_t slash = part.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(part.substr(0, slash + 1));
}

// The part a relationship target names, relative to the part's directory or absolute.
std::string ResolveTarget(std::string_view base_dir, std::string_view target) {
  std::string joined = target.starts_with('/') ? std::string(target.substr(1))
                                               : std::string(base_dir) + std::string(target);
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= joined.size()) {
    std::size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    const std::string segment = joined.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string path;
  for (const std::string& s : segments) {
    if (!path.empty()) path.push_back('/');
    path.append(s);
  }
  return path;
}

// The relationships of `part`: id -> (type, resolved target); none when it has no .rels.
Result<std::map<std::string, std::pair<std::string, std::string>>> Relationships(
    ZipReader& zip, const std::string& part) {
  const std::string dir = Directory(part);
  const std::string rels_name = dir + "_rels/" + part.substr(dir.size()) + ".rels";
  std::map<std::string, std::pair<std::string, std::string>> rels;
  auto content = zip.Read(rels_name);
  if (!content.ok()) return std::move(content).error();
  if (!content->has_value()) return rels;
  pugi::xml_document doc;
  TB_RETURN_IF_ERROR(LoadPart(zip, **content, rels_name, &doc));
  for (pugi::xml_node r = doc.document_element().first_child(); r; r = r.next_sibling()) {
    if (r.type() != pugi::node_element || Local(r) != "Relationship") continue;
    if (std::string_view(r.attribute("TargetMode").value()) == "External") continue;
    rels[r.attribute("Id").value()] = {r.attribute("Type").value(),
                                       ResolveTarget(dir, r.attribute("Target").value())};
  }
  return rels;
}

bool EndsWith(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

// Decodes OOXML's _xHHHH_ escapes (Excel writes control characters so; "_x005F_" is '_').
std::string DecodeXstring(std::string_view s) {
  if (s.find("_x") == std::string_view::npos) return std::string(s);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (IsXstringEscapeAt(s, i)) {
      unsigned cp = 0;
      std::from_chars(s.data() + i + 2, s.data() + i + 6, cp, 16);
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // a lone surrogate half
      AppendUtf8(static_cast<char32_t>(cp), &out);
      i += 7;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// The text of a string item (<si> or <is>): its <t>, or its rich-text runs' <t>s in order;
// phonetic runs (<rPh>) are hints, not text.
std::string StringItemText(const pugi::xml_node& item) {
  std::string text;
  bool unused = false;
  for (pugi::xml_node c = item.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    if (Local(c) == "t") {
      text.append(internal::ElementText(c, &unused));
    } else if (Local(c) == "r") {
      const pugi::xml_node t = Child(c, "t");
      if (t) text.append(internal::ElementText(t, &unused));
    }
  }
  return DecodeXstring(text);
}

// Parses "B3" into (row 2, column 1).
bool ParseCellReference(std::string_view ref, std::size_t* row, std::size_t* column) {
  std::size_t i = 0, col = 0;
  while (i < ref.size() && i < 3 && std::isalpha(static_cast<unsigned char>(ref[i]))) {
    col = col * 26 + static_cast<std::size_t>((ref[i] | 0x20) - 'a' + 1);
    ++i;
  }
  if (i == 0 || i == ref.size() || col > kMaxColumns) return false;
  std::size_t r = 0;
  const auto res = std::from_chars(ref.data() + i, ref.data() + ref.size(), r);
  if (res.ec != std::errc() || res.ptr != ref.data() + ref.size() || r == 0 || r > kMaxRows) {
    return false;
  }
  *row = r - 1;
  *column = col - 1;
  return true;
}

std::string_view TrimXmlSpace(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

struct SheetReader {
  const std::vector<std::string>& shared_strings;
  std::size_t* cells_left;  // the budget of cells (and rows) across sheets
  std::size_t* text_left;   // the budget of cell text across sheets
  std::size_t max_columns;  // XlsxLimits::max_columns

  Status SpendText(std::size_t n) const {
    if (n > *text_left) {
      return Error::TooLarge("xlsx: the cells hold more text than the limit allows");
    }
    *text_left -= n;
    return Status::Ok();
  }

  Status Fail(const Sheet& sheet, std::string_view where, std::string_view what) const {
    return Error::InvalidArgument("xlsx: sheet " + internal::Printable(sheet.name) + ", " +
                                  std::string(where) + ": " + std::string(what));
  }

  Status Spend(std::size_t n) const {
    if (n > *cells_left) {
      return Error::TooLarge("xlsx: the sheets hold more cells than the limit allows");
    }
    *cells_left -= n;
    return Status::Ok();
  }

  Status ReadCell(const pugi::xml_node& c, const std::string& where, Cell* cell) const {
    const std::string_view type = c.attribute("t").value();
    bool unused = false;
    const pugi::xml_node v = Child(c, "v");
    const std::string value = v ? internal::ElementText(v, &unused) : std::string();
    if (type == "inlineStr") {
      const pugi::xml_node is = Child(c, "is");
      *cell = is ? Cell::Text(StringItemText(is)) : Cell::Text(DecodeXstring(value));
      return SpendText(cell->text.size());
    }
    if (!v) return Status::Ok();  // no value: an empty (perhaps only styled) cell
    if (type == "s") {
      std::size_t index = 0;
      const std::string_view digits = TrimXmlSpace(value);
      const auto res = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (res.ec != std::errc() || res.ptr != digits.data() + digits.size() ||
          index >= shared_strings.size()) {
        return Error::InvalidArgument("bad shared string index at " + where);
      }
      // Charged before the copy: the string is stored once, its copies are not.
      TB_RETURN_IF_ERROR(SpendText(shared_strings[index].size()));
      *cell = Cell::Text(shared_strings[index]);
      return Status::Ok();
    } else if (type == "str" || type == "e" || type == "d") {
      *cell = Cell::Text(DecodeXstring(value));
      return SpendText(cell->text.size());
    } else if (type == "b") {
      const std::string_view b = TrimXmlSpace(value);
      if (b != "0" && b != "1" && b != "true" && b != "false") {
        return Error::InvalidArgument("bad boolean at " + where);
      }
      *cell = Cell::Boolean(b == "1" || b == "true");
    } else if (type.empty() || type == "n") {
      const std::string_view digits = TrimXmlSpace(value);
      double d = 0;
      const auto res = std::from_chars(digits.data(), digits.data() + digits.size(), d);
      if (res.ec != std::errc() || res.ptr != digits.data() + digits.size() || digits.empty()) {
        return Error::InvalidArgument("bad number at " + where);
      }
      *cell = Cell::Number(d);
    } else {
      return Error::InvalidArgument("unknown cell type \"" + internal::Printable(type) + "\" at " +
                                    where);
    }
    return Status::Ok();
  }

  Status Read(const pugi::xml_document& doc, Sheet* sheet) const {
    const pugi::xml_node data = Child(doc.document_element(), "sheetData");
    if (!data) return Status::Ok();  // a sheet without data is empty
    std::size_t next_row = 0;
    for (pugi::xml_node row = data.first_child(); row; row = row.next_sibling()) {
      if (row.type() != pugi::node_element || Local(row) != "row") continue;
      std::size_t r = next_row;
      if (const pugi::xml_attribute ra = row.attribute("r")) {
        const std::string_view text = ra.value();
        const auto res = std::from_chars(text.data(), text.data() + text.size(), r);
        if (res.ec != std::errc() || res.ptr != text.data() + text.size() || r == 0 ||
            r > kMaxRows) {
          return Fail(*sheet, "row " + internal::Printable(text), "bad row number");
        }
        --r;
      }
      if (r < next_row) return Fail(*sheet, "row " + std::to_string(r + 1), "rows out of order");
      next_row = r + 1;
      std::size_t next_column = 0;
      for (pugi::xml_node c = row.first_child(); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_element || Local(c) != "c") continue;
        std::size_t cr = r, cc = next_column;
        if (const pugi::xml_attribute ref = c.attribute("r")) {
          if (!ParseCellReference(ref.value(), &cr, &cc)) {
            return Fail(*sheet, "row " + std::to_string(r + 1),
                        "bad cell reference \"" + internal::Printable(ref.value()) + "\"");
          }
          if (cr != r) {
            return Fail(*sheet, CellReference(cr, cc),
                        "cell outside its row " + std::to_string(r + 1));
          }
        }
        if (cc >= kMaxColumns)
          return Fail(*sheet, "row " + std::to_string(r + 1), "too many cells");
        if (cc < next_column) {
          return Fail(*sheet, CellReference(cr, cc), "cells out of order");
        }
        next_column = cc + 1;
        const std::string where = CellReference(cr, cc);
        Cell cell;
        if (Status s = ReadCell(c, where, &cell); !s.ok()) {
          if (s.error().code == errc::kTooLarge) return s;
          return Fail(*sheet, where, s.error().message);
        }
        if (cell.empty()) continue;
        if (cc >= max_columns) {
          return Fail(*sheet, where,
                      "a value beyond column " + ColumnName(max_columns - 1) + ", the last read");
        }
        if (sheet->rows.size() <= r) {
          TB_RETURN_IF_ERROR(Spend(r + 1 - sheet->rows.size()));
          sheet->rows.resize(r + 1);
        }
        std::vector<Cell>& cells = sheet->rows[r];
        TB_RETURN_IF_ERROR(Spend(cc + 1 - cells.size()));
        cells.resize(cc + 1);
        cells[cc] = std::move(cell);
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::string ColumnName(std::size_t column) {
  std::string name;
  std::size_t n = column + 1;
  while (n > 0) {
    const std::size_t rem = (n - 1) % 26;
    name.insert(name.begin(), static_cast<char>('A' + rem));
    n = (n - 1) / 26;
  }
  return name;
}

std::string CellReference(std::size_t row, std::size_t column) {
  return ColumnName(column) + std::to_string(row + 1);
}

Result<std::string> WriteXlsx(const std::vector<Sheet>& sheets) {
  if (sheets.empty()) return Error::InvalidArgument("xlsx: a workbook needs at least one sheet");
  std::set<std::string> names;
  std::vector<std::pair<std::string, std::string>> parts;
  std::string content_types(kXmlDeclaration);
  content_types.append(
      "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
      "<Default Extension=\"rels\" "
      "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
      "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
      "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/"
      "vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
      "<Override PartName=\"/xl/styles.xml\" ContentType=\"application/"
      "vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>");
  std::string workbook(kXmlDeclaration);
  workbook.append("<workbook xmlns=\"").append(kMainNs).append("\" xmlns:r=\"").append(kRelNs);
  workbook.append("\"><sheets>");
  std::string workbook_rels(kXmlDeclaration);
  workbook_rels.append("<Relationships xmlns=\"").append(kPackageRelNs).append("\">");
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    TB_RETURN_IF_ERROR(CheckSheetName(sheets[i].name, &names));
    auto xml = SheetXml(sheets[i]);
    if (!xml.ok()) return std::move(xml).error();
    const std::string n = std::to_string(i + 1);
    const std::string part = "worksheets/sheet" + n + ".xml";
    content_types.append("<Override PartName=\"/xl/" + part +
                         "\" ContentType=\"application/"
                         "vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>");
    workbook.append("<sheet name=\"");
    internal::AppendXmlAttributeValue(sheets[i].name, &workbook);
    workbook.append("\" sheetId=\"" + n + "\" r:id=\"rId" + n + "\"/>");
    workbook_rels.append("<Relationship Id=\"rId" + n + "\" Type=\"" + std::string(kRelNs) +
                         "/worksheet\" Target=\"" + part + "\"/>");
    parts.emplace_back("xl/" + part, std::move(*xml));
  }
  content_types.append("</Types>");
  workbook.append("</sheets></workbook>");
  workbook_rels.append("<Relationship Id=\"rId" + std::to_string(sheets.size() + 1) + "\" Type=\"" +
                       std::string(kRelNs) + "/styles\" Target=\"styles.xml\"/></Relationships>");
  std::string root_rels(kXmlDeclaration);
  root_rels.append("<Relationships xmlns=\"").append(kPackageRelNs).append("\">");
  root_rels.append("<Relationship Id=\"rId1\" Type=\"").append(kRelNs);
  root_rels.append("/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>");

  std::vector<std::pair<std::string, std::string>> all;
  all.emplace_back("[Content_Types].xml", std::move(content_types));
  all.emplace_back("_rels/.rels", std::move(root_rels));
  all.emplace_back("xl/workbook.xml", std::move(workbook));
  all.emplace_back("xl/_rels/workbook.xml.rels", std::move(workbook_rels));
  all.emplace_back("xl/styles.xml", std::string(kXmlDeclaration) + std::string(kStylesXml));
  for (auto& p : parts) all.push_back(std::move(p));
  return ZipParts(all);
}

Result<std::vector<Sheet>> ReadXlsx(std::string_view bytes, const XlsxLimits& limits) {
  ZipReader zip(bytes, limits);
  TB_RETURN_IF_ERROR(zip.Open());

  // The package's relationships name the workbook part; xl/workbook.xml by convention.
  std::string workbook_part = "xl/workbook.xml";
  {
    auto root = Relationships(zip, "");
    if (!root.ok()) return std::move(root).error();
    for (const auto& [id, rel] : *root) {
      if (EndsWith(rel.first, "/officeDocument")) workbook_part = rel.second;
    }
  }
  pugi::xml_document workbook;
  {
    auto read = ReadRequiredXml(zip, workbook_part, &workbook);
    if (!read.ok()) return std::move(read).error();
  }
  auto rels = Relationships(zip, workbook_part);
  if (!rels.ok()) return std::move(rels).error();

  std::vector<std::string> shared_strings;
  std::string shared_part = Directory(workbook_part) + "sharedStrings.xml";
  for (const auto& [id, rel] : *rels) {
    if (EndsWith(rel.first, "/sharedStrings")) shared_part = rel.second;
  }
  {
    auto content = zip.Read(shared_part);
    if (!content.ok()) return std::move(content).error();
    if (content->has_value()) {
      pugi::xml_document doc;
      TB_RETURN_IF_ERROR(LoadPart(zip, **content, shared_part, &doc));
      for (pugi::xml_node si = doc.document_element().first_child(); si; si = si.next_sibling()) {
        if (si.type() == pugi::node_element && Local(si) == "si") {
          shared_strings.push_back(StringItemText(si));
        }
      }
    }
  }

  const pugi::xml_node sheets_node = Child(workbook.document_element(), "sheets");
  if (!sheets_node) return Error::InvalidArgument("xlsx: " + workbook_part + " lists no sheets");
  std::size_t cells_left = limits.max_cells;
  std::size_t text_left = limits.max_text_bytes;
  SheetReader reader{shared_strings, &cells_left, &text_left,
                     std::max<std::size_t>(limits.max_columns, 1)};
  std::vector<Sheet> sheets;
  for (pugi::xml_node s = sheets_node.first_child(); s; s = s.next_sibling()) {
    if (s.type() != pugi::node_element || Local(s) != "sheet") continue;
    Sheet sheet;
    sheet.name = s.attribute("name").value();
    const std::string id(RelationshipId(s));
    const auto rel = rels->find(id);
    if (rel == rels->end()) {
      return Error::InvalidArgument("xlsx: sheet " + internal::Printable(sheet.name) +
                                    " names no part (relationship \"" + internal::Printable(id) +
                                    "\")");
    }
    if (!EndsWith(rel->second.first, "/worksheet")) continue;  // chart sheets, dialog sheets
    pugi::xml_document doc;
    auto read = ReadRequiredXml(zip, rel->second.second, &doc);
    if (!read.ok()) return std::move(read).error();
    TB_RETURN_IF_ERROR(reader.Read(doc, &sheet));
    sheets.push_back(std::move(sheet));
    if (limits.first_sheet_only) break;
  }
  if (sheets.empty()) return Error::InvalidArgument("xlsx: the workbook has no worksheet");
  return sheets;
}

}  // namespace tongban::codec
