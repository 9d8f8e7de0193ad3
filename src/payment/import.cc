#include "payment/import.h"

#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "codec/render.h"
#include "codec/value.h"
#include "codec/xlsx.h"
#include "core/utf8.h"
#include "payment/direct.h"

namespace tongban::payment {

namespace {

constexpr size_t kMaxRows = 100'000;

// Column names: the direct interface's, and the Chinese labels a clerk types.
const std::map<std::string, std::string, std::less<>>& Aliases() {
  static const std::map<std::string, std::string, std::less<>> kAliases = {
      {"缴款单号", "ORIGINALNOTICENO"},
      {"原缴款单号", "ORIGINALNOTICENO"},
      {"缴款人", "PAYER"},
      {"证件号码", "PAYERSFZ"},
      {"身份证号码", "PAYERSFZ"},
      {"手机号码", "PAYERMOBILE"},
      {"手机", "PAYERMOBILE"},
      {"电子邮箱", "PAYEREMAIL"},
      {"业务编号", "YWCODE"},
      {"实名", "ISTRUENAME"},
      {"缴款期限", "EXPIREDPAYDATE"},
      {"缴款期限时间", "EXPIREDPAYTIME"},
      {"计滞纳金", "ISCOUNTOVERDUE"},
      {"打印信息", "PRINTINFO"},
      {"收费项目编码", "CHITCODE"},
      {"数量", "CHCOUNT"},
      {"收费标准", "CHARGESTANDARD"},
      {"金额", "CHMONEY"},
      {"区划", "REGICODE"},
  };
  return kAliases;
}

// The notice-level columns; every row of one notice must agree on them.
constexpr std::array<const char*, 20> kNoticeColumns = {"PAYER",          "PAYERSFZ",
                                                        "PAYERMOBILE",    "PAYEREMAIL",
                                                        "YWCODE",         "ISTRUENAME",
                                                        "REGICODE",       "EXPIREDPAYDATE",
                                                        "EXPIREDPAYTIME", "ISCOUNTOVERDUE",
                                                        "PRINTINFO",      "FJ1",
                                                        "FJCONTENT1",     "FJ2",
                                                        "FJCONTENT2",     "FJ3",
                                                        "FJCONTENT3",     "FJ4",
                                                        "FJCONTENT4",     "FJ5"};
constexpr const char* kLastNoticeColumn = "FJCONTENT5";

const std::map<std::string, int, std::less<>>& Known() {
  static const std::map<std::string, int, std::less<>> kKnown = [] {
    std::map<std::string, int, std::less<>> m;
    for (const char* c : kNoticeColumns) m[c] = 1;
    m[kLastNoticeColumn] = 1;
    for (const char* c :
         {"ORIGINALNOTICENO", "CHITCODE", "CHCOUNT", "CHARGESTANDARD", "CHMONEY", "TOTALMONEY"}) {
      m[c] = 2;
    }
    return m;
  }();
  return kKnown;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// A table of text cells with its header, from either file kind.
struct Table {
  std::vector<std::string> header;  // canonical names
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // the file line of each row
};

Status ResolveHeader(const std::vector<std::string>& raw, std::vector<std::string>* out) {
  std::map<std::string, int> seen;
  for (const std::string& cell : raw) {
    std::string name = Trim(cell);
    auto alias = Aliases().find(name);
    if (alias != Aliases().end()) name = alias->second;
    name = Upper(name);
    if (!name.empty() && !Known().contains(name)) {
      return Error::InvalidArgument("表头有不认识的列：" + codec::PrintableText(name, 64));
    }
    if (!name.empty() && seen[name]++ > 0) {
      return Error::InvalidArgument("表头的列重复：" + name);
    }
    out->push_back(name);
  }
  for (const char* required : {"ORIGINALNOTICENO", "CHITCODE"}) {
    if (!seen.contains(required)) {
      return Error::InvalidArgument(std::string("表头缺少列 ") + required);
    }
  }
  return Status::Ok();
}

Result<ImportParse> Build(const Table& table, std::string_view entercode) {
  ImportParse out;
  std::unordered_map<std::string, size_t> by_number;  // ORIGINALNOTICENO → rows index
  std::vector<std::map<std::string, std::string>> firsts;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const int line = table.lines[r];
    std::map<std::string, std::string> f;
    const auto& cells = table.rows[r];
    if (cells.size() > table.header.size()) {
      bool extra = false;
      for (size_t c = table.header.size(); c < cells.size(); ++c) extra |= !Trim(cells[c]).empty();
      if (extra) {
        out.errors.push_back({line, "列数多于表头"});
        continue;
      }
    }
    for (size_t c = 0; c < table.header.size(); ++c) {
      if (table.header[c].empty()) continue;
      f[table.header[c]] = c < cells.size() ? Trim(cells[c]) : std::string();
    }
    const std::string number = f["ORIGINALNOTICENO"];
    if (number.empty()) {
      out.errors.push_back({line, "缴款单号 ORIGINALNOTICENO 不能为空"});
      continue;
    }
    // A request record of this row's fields, mapped by the direct interface's rules.
    DirectRequest req;
    bool bad = false;
    for (const auto& [name, value] : f) {
      if (name == "CHITCODE" || name == "CHCOUNT" || name == "CHARGESTANDARD" ||
          name == "CHMONEY") {
        continue;
      }
      if (!req.params.Add(name, value).ok()) bad = true;
    }
    DirectRecord project;
    for (const char* name : {"CHITCODE", "CHCOUNT", "CHARGESTANDARD", "CHMONEY"}) {
      auto it = f.find(name);
      if (it != f.end() && !project.Add(name, it->second).ok()) bad = true;
    }
    if (bad) {
      out.errors.push_back({line, "列重复"});
      continue;
    }
    req.projects.push_back(std::move(project));
    auto notice = NoticeFromDirect(req);
    if (!notice.ok()) {
      out.errors.push_back({line, notice.error().message});
      continue;
    }
    notice->entercode = std::string(entercode);
    auto [at, fresh] = by_number.emplace(number, out.rows.size());
    if (fresh) {
      out.rows.push_back({line, std::move(*notice)});
      firsts.push_back(std::move(f));
      continue;
    }
    // A further item line of the same notice.
    const auto& first = firsts[at->second];
    std::string differs;
    for (const auto& [name, value] : f) {
      if (Known().at(name) == 1 && first.count(name) && first.at(name) != value) differs = name;
    }
    if (!differs.empty()) {
      out.errors.push_back({line, "同一缴款单 " + number + " 的 " + differs + " 与第 " +
                                      std::to_string(out.rows[at->second].line) + " 行不同"});
      continue;
    }
    PaymentNotice& target = out.rows[at->second].draft;
    if (target.lines.size() >= 50) {
      out.errors.push_back({line, "同一缴款单最多 50 个收费项目"});
      continue;
    }
    target.lines.push_back(std::move(notice->lines.front()));
  }
  return out;
}

// Text of a cell: numbers in their shortest exact form, Excel serial dates of
// the date column as YYYYMMDD.
std::string CellText(const codec::Cell& cell, bool date_column) {
  switch (cell.type) {
    case codec::Cell::Type::kEmpty:
      return {};
    case codec::Cell::Type::kText:
      return cell.text;
    case codec::Cell::Type::kBoolean:
      return cell.number != 0 ? "1" : "0";
    case codec::Cell::Type::kNumber: {
      double d = cell.number;
      if (date_column && d >= 1 && d < 2958466 && d == std::floor(d)) {
        // Days since 1899-12-30 (Excel's serial, with its 1900 leap-year bug before March 1900).
        int64_t ms = static_cast<int64_t>(d - 25569) * 86'400'000 - 8 * 3'600'000 + 43'200'000;
        return ChinaDate(ms);
      }
      if (d == std::floor(d) && std::fabs(d) < 1e15) {
        return std::to_string(static_cast<int64_t>(d));
      }
      return codec::Value(d).ToText();
    }
  }
  return {};
}

}  // namespace

Result<ImportParse> ParseImportXlsx(std::string_view bytes, std::string_view entercode) {
  // Bounds sized to this import: its own columns (and a few blank ones), a full
  // batch of rows of them, the first sheet only.
  codec::XlsxLimits limits;
  limits.max_columns = Known().size() + 8;
  limits.max_cells = (kMaxRows + 1) * Known().size();
  limits.first_sheet_only = true;
  auto sheets = codec::ReadXlsx(bytes, limits);
  if (!sheets.ok()) {
    return Error{sheets.error().code, "不是可读的 Excel (.xlsx) 文件：" + sheets.error().message};
  }
  if (sheets->empty() || sheets->front().rows.empty()) {
    return Error::InvalidArgument("工作表是空的");
  }
  const auto& rows = sheets->front().rows;
  Table table;
  std::vector<std::string> raw;
  for (const codec::Cell& c : rows[0]) raw.push_back(CellText(c, false));
  TB_RETURN_IF_ERROR(ResolveHeader(raw, &table.header));
  if (rows.size() - 1 > kMaxRows) return Error::InvalidArgument("一次最多导入 100000 行");
  for (size_t r = 1; r < rows.size(); ++r) {
    std::vector<std::string> cells;
    bool any = false;
    for (size_t c = 0; c < rows[r].size(); ++c) {
      bool date = c < table.header.size() && table.header[c] == "EXPIREDPAYDATE";
      cells.push_back(CellText(rows[r][c], date));
      any |= !Trim(cells.back()).empty();
    }
    if (!any) continue;
    table.rows.push_back(std::move(cells));
    table.lines.push_back(static_cast<int>(r + 1));
  }
  return Build(table, entercode);
}

Result<ImportParse> ParseImportTxt(std::string_view text, std::string_view entercode) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (!IsValidUtf8(text)) return Error::InvalidArgument("TXT 文件应为 UTF-8 编码");
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  size_t header_at = 0;
  while (header_at < lines.size() && Trim(lines[header_at]).empty()) ++header_at;
  if (header_at == lines.size()) return Error::InvalidArgument("文件是空的");
  const char sep = lines[header_at].find('\t') != std::string_view::npos ? '\t' : '|';
  auto split = [sep](std::string_view line) {
    std::vector<std::string> out;
    while (true) {
      size_t at = line.find(sep);
      out.emplace_back(line.substr(0, at));
      if (at == std::string_view::npos) break;
      line.remove_prefix(at + 1);
    }
    return out;
  };
  Table table;
  TB_RETURN_IF_ERROR(ResolveHeader(split(lines[header_at]), &table.header));
  for (size_t i = header_at + 1; i < lines.size(); ++i) {
    if (Trim(lines[i]).empty()) continue;
    if (table.rows.size() >= kMaxRows) return Error::InvalidArgument("一次最多导入 100000 行");
    table.rows.push_back(split(lines[i]));
    table.lines.push_back(static_cast<int>(i + 1));
  }
  return Build(table, entercode);
}

}  // namespace tongban::payment
