#include "http/charset.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>
#include <unicode/ustring.h>

#include <memory>

#include "core/utf8.h"
#include "http/strings.h"

namespace tongban::http {
namespace {

struct ConverterClose {
  void operator()(UConverter* c) const { ucnv_close(c); }
};
using ConverterPtr = std::unique_ptr<UConverter, ConverterClose>;

// Opening an ICU converter parses its tables; each thread keeps one, set to
// stop at the first byte sequence that is not GB18030 instead of
// substituting U+FFFD, so bad bytes are an error and not silent damage.
UConverter* Gb18030Converter() {
  thread_local ConverterPtr converter = [] {
    UErrorCode status = U_ZERO_ERROR;
    ConverterPtr c(ucnv_open("GB18030", &status));
    if (U_FAILURE(status)) return ConverterPtr();
    ucnv_setToUCallBack(c.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
    if (U_FAILURE(status)) return ConverterPtr();
    return c;
  }();
  return converter.get();
}

}  // namespace

Result<Charset> CharsetFromLabel(std::string_view label) {
  if (label.empty()) return Charset::kUtf8;
  for (std::string_view utf8 : {"utf-8", "utf8", "iso-8859-1", "latin1", "us-ascii", "ascii"}) {
    if (EqualsIgnoreCase(label, utf8)) return Charset::kUtf8;
  }
  for (std::string_view gb :
       {"gbk", "gb2312", "gb18030", "cp936", "windows-936", "x-gbk", "ms936", "euc-cn"}) {
    if (EqualsIgnoreCase(label, gb)) return Charset::kGb18030;
  }
  std::string shown(label.substr(0, 40));
  return Error::InvalidArgument("unsupported charset '" + shown +
                                "' (UTF-8, GBK, GB2312 or GB18030)");
}

bool AppendAsUtf8(std::string_view bytes, Charset charset, std::string& out) {
  if (charset == Charset::kUtf8) {
    if (!IsValidUtf8(bytes)) return false;
    out.append(bytes);
    return true;
  }
  bool ascii = true;
  for (char c : bytes) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {  // the common case even in GBK forms: names, codes, signatures
    out.append(bytes);
    return true;
  }
  UConverter* converter = Gb18030Converter();
  if (converter == nullptr) return false;
  ucnv_reset(converter);
  // A GB18030 sequence of n bytes never needs more than n UTF-16 units.
  std::u16string wide(bytes.size(), u'\0');
  UErrorCode status = U_ZERO_ERROR;
  int32_t units = ucnv_toUChars(converter, wide.data(), static_cast<int32_t>(wide.size()),
                                bytes.data(), static_cast<int32_t>(bytes.size()), &status);
  if (U_FAILURE(status)) return false;
  int32_t needed = 0;
  status = U_ZERO_ERROR;
  u_strToUTF8(nullptr, 0, &needed, wide.data(), units, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) return false;
  size_t at = out.size();
  out.resize(at + static_cast<size_t>(needed));
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data() + at, needed, nullptr, wide.data(), units, &status);
  return U_SUCCESS(status) || status == U_STRING_NOT_TERMINATED_WARNING;
}

}  // namespace tongban::http
