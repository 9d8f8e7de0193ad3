#include "http/form.h"

#include "http/strings.h"

namespace tongban::http {
namespace {

constexpr std::string_view kCrlf = "\r\n";

std::string_view MediaType(std::string_view content_type) {
  return TrimWhitespace(content_type.substr(0, content_type.find(';')));
}

// Reads `name` params of `header` ("type; a=1; b=\"x;y\""); quoted values may
// hold ';' and backslash escapes.
std::optional<std::string> HeaderParam(std::string_view header, std::string_view name) {
  size_t pos = header.find(';');
  while (pos != std::string_view::npos && pos < header.size()) {
    ++pos;  // past ';'
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t')) ++pos;
    size_t eq = header.find_first_of("=;", pos);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = TrimWhitespace(header.substr(pos, eq - pos));
    if (header[eq] == ';') {  // a parameter without a value
      pos = eq;
      continue;
    }
    pos = eq + 1;
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t')) ++pos;
    std::string value;
    if (pos < header.size() && header[pos] == '"') {
      ++pos;
      while (pos < header.size() && header[pos] != '"') {
        if (header[pos] == '\\' && pos + 1 < header.size()) ++pos;
        value.push_back(header[pos++]);
      }
      pos = header.find(';', pos);
    } else {
      size_t end = header.find(';', pos);
      value.assign(TrimWhitespace(
          header.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos)));
      pos = end;
    }
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

struct Part {
  std::string_view disposition;
  std::string_view content_type;
  std::string_view content;
};

// One part's headers: the two that matter here, by name.
Status ReadPartHeaders(std::string_view headers, Part& part) {
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t end = headers.find(kCrlf, pos);
    if (end == std::string_view::npos) end = headers.size();
    std::string_view line = headers.substr(pos, end - pos);
    pos = end + kCrlf.size();
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Error::InvalidArgument("multipart: a part header has no ':'");
    }
    std::string_view name = TrimWhitespace(line.substr(0, colon));
    std::string_view value = TrimWhitespace(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-disposition")) part.disposition = value;
    if (EqualsIgnoreCase(name, "content-type")) part.content_type = value;
  }
  return Status::Ok();
}

Status AddPart(const Part& part, Charset request_charset, Params& out) {
  if (!EqualsIgnoreCase(MediaType(part.disposition), "form-data")) return Status::Ok();
  if (HeaderParam(part.disposition, "filename")) return Status::Ok();
  auto name = HeaderParam(part.disposition, "name");
  if (!name) return Status::Ok();
  Charset charset = request_charset;
  if (auto label = HeaderParam(part.content_type, "charset")) {
    auto declared = CharsetFromLabel(*label);
    if (!declared.ok()) return std::move(declared).error();
    charset = *declared;
  }
  std::string text_name;
  std::string text_value;
  if (!AppendAsUtf8(*name, charset, text_name)) {
    return Error::InvalidArgument("multipart: a parameter name is not text in its charset");
  }
  if (!AppendAsUtf8(part.content, charset, text_value)) {
    std::string shown = text_name.substr(0, 64);
    return Error::InvalidArgument("parameter '" + shown + "': value is not valid " +
                                  (charset == Charset::kUtf8 ? "UTF-8" : "GBK/GB18030"));
  }
  out.Add(text_name, text_value, ParamSource::kBody);
  return Status::Ok();
}

Status ParseMultipart(std::string_view content_type, std::string_view body, Charset charset,
                      Params& out) {
  auto boundary = MediaTypeParam(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) {
    return Error::InvalidArgument("multipart/form-data without a valid boundary");
  }
  const std::string delimiter = "--" + *boundary;
  const std::string next_delimiter = std::string(kCrlf) + delimiter;
  // A preamble may precede the first delimiter; the delimiter then follows a line break.
  size_t pos = body.starts_with(delimiter) ? 0 : body.find(next_delimiter);
  if (pos == std::string_view::npos) {
    return Error::InvalidArgument("multipart: the body has no boundary line");
  }
  if (pos != 0) pos += kCrlf.size();
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return Status::Ok();  // the close delimiter
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, kCrlf.size()) != kCrlf) {
      return Error::InvalidArgument("multipart: a boundary line does not end in CRLF");
    }
    pos += kCrlf.size();
    Part part;
    size_t content_start;
    if (body.substr(pos, kCrlf.size()) == kCrlf) {  // a part without headers
      content_start = pos + kCrlf.size();
    } else {
      size_t headers_end = body.find("\r\n\r\n", pos);
      if (headers_end == std::string_view::npos) {
        return Error::InvalidArgument("multipart: a part's headers do not end");
      }
      TB_RETURN_IF_ERROR(ReadPartHeaders(body.substr(pos, headers_end - pos), part));
      content_start = headers_end + 4;
    }
    size_t content_end = body.find(next_delimiter, content_start);
    if (content_end == std::string_view::npos) {
      return Error::InvalidArgument("multipart: the body ends inside a part");
    }
    part.content = body.substr(content_start, content_end - content_start);
    TB_RETURN_IF_ERROR(AddPart(part, charset, out));
    pos = content_end + kCrlf.size();
  }
}

}  // namespace

std::optional<std::string> MediaTypeParam(std::string_view content_type, std::string_view name) {
  return HeaderParam(content_type, name);
}

Status ParseFormBody(std::string_view content_type, std::string_view body, Params& out) {
  std::string_view media = MediaType(content_type);
  const bool urlencoded = EqualsIgnoreCase(media, "application/x-www-form-urlencoded");
  const bool multipart = EqualsIgnoreCase(media, "multipart/form-data");
  if (!urlencoded && !multipart) return Status::Ok();
  Charset charset = Charset::kUtf8;
  // Most clients declare no charset: skip the parameter scan for them.
  if (content_type.find(';') != std::string_view::npos) {
    if (auto label = MediaTypeParam(content_type, "charset")) {
      auto declared = CharsetFromLabel(*label);
      if (!declared.ok()) return std::move(declared).error();
      charset = *declared;
    }
  }
  if (urlencoded) return ParseQueryInto(body, ParamSource::kBody, out, charset);
  return ParseMultipart(content_type, body, charset, out);
}

}  // namespace tongban::http
