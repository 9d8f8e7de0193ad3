// Small helpers of the exchange records: names, url masking, identifier and definition checks.
#include "exchange/model.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace tongban::exchange {

std::string NodeName(std::string_view division, std::string_view dept_code) {
  std::string code;
  for (char c : dept_code) {
    if (c == '-') continue;
    code += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return "QZ_" + std::string(division) + "_" + code;
}

std::string MaskUrlPassword(std::string_view url) {
  std::string out(url);
  // ODBC connection strings: PWD=…; (any case).
  std::string lower = out;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower.rfind("odbc://", 0) == 0) {
    size_t pos = 0;
    while ((pos = lower.find("pwd=", pos)) != std::string::npos) {
      size_t end = lower.find(';', pos);
      if (end == std::string::npos) end = lower.size();
      out.replace(pos + 4, end - pos - 4, "***");
      lower.replace(pos + 4, end - pos - 4, "***");
      pos += 7;
    }
    return out;
  }
  // scheme://user:pass@host…
  size_t scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  size_t auth_start = scheme + 3;
  size_t at = out.find('@', auth_start);
  size_t slash = out.find('/', auth_start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return out;
  size_t colon = out.find(':', auth_start);
  if (colon == std::string::npos || colon > at) return out;
  out.replace(colon + 1, at - colon - 1, "***");
  return out;
}

Result<std::string> UrlBackend(std::string_view url) {
  auto starts = [&](std::string_view p) { return url.substr(0, p.size()) == p; };
  if (starts("sqlite:")) return std::string("sqlite");
  if (starts("postgresql://") || starts("postgres://")) return std::string("postgresql");
  if (starts("mysql://") || starts("mariadb://")) return std::string("mysql");
  if (starts("odbc://")) return std::string("odbc");
  return Error::InvalidArgument(
      "connection url must start with sqlite:, postgresql://, mysql:// or odbc://");
}

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kInt:
      return "int";
    case FieldType::kDecimal:
      return "decimal";
    case FieldType::kDate:
      return "date";
    case FieldType::kDateTime:
      return "datetime";
  }
  return "string";
}

std::optional<FieldType> ParseFieldType(std::string_view name) {
  if (name == "string") return FieldType::kString;
  if (name == "int") return FieldType::kInt;
  if (name == "decimal") return FieldType::kDecimal;
  if (name == "date") return FieldType::kDate;
  if (name == "datetime") return FieldType::kDateTime;
  return std::nullopt;
}

std::string_view TableModelName(TableModel model) {
  return model == TableModel::kVertical ? "vertical" : "horizontal";
}

std::optional<TableModel> ParseTableModel(std::string_view name) {
  if (name == "horizontal" || name == "横表") return TableModel::kHorizontal;
  if (name == "vertical" || name == "纵表") return TableModel::kVertical;
  return std::nullopt;
}

std::string_view OrderStateName(OrderState state) {
  switch (state) {
    case OrderState::kDraft:
      return "draft";
    case OrderState::kSubmitted:
      return "submitted";
    case OrderState::kApproved:
      return "approved";
    case OrderState::kRefused:
      return "refused";
  }
  return "draft";
}

std::optional<OrderState> ParseOrderState(std::string_view name) {
  if (name == "draft") return OrderState::kDraft;
  if (name == "submitted") return OrderState::kSubmitted;
  if (name == "approved") return OrderState::kApproved;
  if (name == "refused") return OrderState::kRefused;
  return std::nullopt;
}

const Field* Resource::FindField(std::string_view code) const {
  for (const Field& f : fields) {
    if (f.code == code) return &f;
  }
  return nullptr;
}

bool IsSafeIdentifier(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  if (!((id[0] >= 'a' && id[0] <= 'z') || id[0] == '_')) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Status ValidateResource(const Resource& r) {
  if (!IsSafeIdentifier(r.code)) {
    return Error::InvalidArgument("resource code must match [a-z_][a-z0-9_]{0,62}: " + r.code);
  }
  if (r.name.empty()) return Error::InvalidArgument("resource name is required");
  if (r.fields.empty()) return Error::InvalidArgument("a resource needs at least one field");
  if (r.fields.size() > 500) return Error::InvalidArgument("a resource has at most 500 fields");
  std::set<std::string_view> seen;
  for (const Field& f : r.fields) {
    if (!IsSafeIdentifier(f.code)) {
      return Error::InvalidArgument("field code must match [a-z_][a-z0-9_]{0,62}: " + f.code);
    }
    for (std::string_view c : kControlColumns) {
      if (f.code == c) return Error::InvalidArgument("field code is a control column: " + f.code);
    }
    for (std::string_view c : kVerticalColumns) {
      if (f.code == c) return Error::InvalidArgument("field code is a vertical column: " + f.code);
    }
    if (f.code == "id") return Error::InvalidArgument("field code 'id' is reserved");
    if (!seen.insert(f.code).second) {
      return Error::InvalidArgument("duplicate field code: " + f.code);
    }
    if (f.length < 0 || f.length > 10000) {
      return Error::InvalidArgument("field " + f.code + ": length must be 0..10000");
    }
    if (f.type == FieldType::kDecimal &&
        (f.length > 38 || f.scale < 0 || (f.length > 0 && f.scale > f.length))) {
      return Error::InvalidArgument("field " + f.code +
                                    ": decimal needs length <= 38, scale <= length");
    }
  }
  return Status::Ok();
}

}  // namespace tongban::exchange
