#include "doc/pdf.h"

#include <hpdf.h>
#include <qrencode.h>
#include <unicode/ucnv.h>
#include <unicode/ustring.h>

#include <algorithm>

namespace tongban::doc {

namespace {

struct HaruError {
  HPDF_STATUS error = HPDF_OK;
  HPDF_STATUS detail = 0;
};

// libharu reports through this callback, then returns an error from the call;
// the first one is kept and becomes the Error of Finish.
void RecordHaruError(HPDF_STATUS error, HPDF_STATUS detail, void* user_data) {
  auto* e = static_cast<HaruError*>(user_data);
  if (e->error == HPDF_OK) {
    e->error = error;
    e->detail = detail;
  }
}

size_t GbkCharLength(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]) >= 0x81 && i + 1 < s.size() ? 2 : 1;
}

}  // namespace

struct PdfPage::State {
  HaruError error;
  HPDF_Doc doc = nullptr;
  HPDF_Page page = nullptr;
  HPDF_Font regular = nullptr;
  HPDF_Font bold = nullptr;
  UConverter* gbk = nullptr;

  ~State() {
    if (doc != nullptr) HPDF_Free(doc);
    if (gbk != nullptr) ucnv_close(gbk);
  }

  std::string ToGbk(std::string_view utf8) {
    if (utf8.empty() || gbk == nullptr) return {};
    UErrorCode status = U_ZERO_ERROR;
    std::u16string wide(utf8.size() + 1, u'\0');
    int32_t wide_length = 0;
    u_strFromUTF8WithSub(wide.data(), static_cast<int32_t>(wide.size()), &wide_length, utf8.data(),
                         static_cast<int32_t>(utf8.size()), u'?', nullptr, &status);
    if (U_FAILURE(status)) return "?";
    wide.resize(static_cast<size_t>(wide_length));
    std::erase_if(wide, [](char16_t c) { return c < 0x20 || c == 0x7F; });
    std::string out(wide.size() * 2 + 1, '\0');
    ucnv_resetFromUnicode(gbk);
    int32_t n = ucnv_fromUChars(gbk, out.data(), static_cast<int32_t>(out.size()), wide.data(),
                                static_cast<int32_t>(wide.size()), &status);
    if (U_FAILURE(status)) return "?";
    out.resize(static_cast<size_t>(n));
    return out;
  }

  double GbkWidth(std::string_view g, double size, bool b) {
    if (g.empty()) return 0;
    HPDF_TextWidth w =
        HPDF_Font_TextWidth(b ? bold : regular, reinterpret_cast<const HPDF_BYTE*>(g.data()),
                            static_cast<HPDF_UINT>(g.size()));
    return w.width * size / 1000.0;
  }

  // Spaces are gaps, not glyphs: a reader substituting SimSun may draw a box
  // for the CID GBK-EUC-H gives ASCII space.
  void GbkText(double x, double y, double size, std::string_view g, bool b) {
    if (g.empty()) return;
    HPDF_Page_BeginText(page);
    HPDF_Page_SetFontAndSize(page, b ? bold : regular, static_cast<HPDF_REAL>(size));
    size_t start = 0;
    while (start < g.size()) {
      size_t end = g.find(' ', start);
      if (end == std::string_view::npos) end = g.size();
      if (end > start) {
        std::string run(g.substr(start, end - start));
        HPDF_Page_TextOut(page, static_cast<HPDF_REAL>(x + GbkWidth(g.substr(0, start), size, b)),
                          static_cast<HPDF_REAL>(kHeight - y), run.c_str());
      }
      start = end + 1;
    }
    HPDF_Page_EndText(page);
  }
};

Result<std::unique_ptr<PdfPage>> PdfPage::Create() {
  auto s = std::make_unique<State>();
  UErrorCode status = U_ZERO_ERROR;
  s->gbk = ucnv_open("GBK", &status);
  if (U_FAILURE(status)) {
    s->gbk = nullptr;
    return Error::Internal(std::string("pdf: ICU has no GBK converter: ") + u_errorName(status));
  }
  s->doc = HPDF_New(RecordHaruError, &s->error);
  if (s->doc == nullptr) return Error::Internal("pdf: libharu cannot create a document");
  HPDF_SetCompressionMode(s->doc, HPDF_COMP_ALL);
  HPDF_UseCNSFonts(s->doc);
  HPDF_UseCNSEncodings(s->doc);
  HPDF_SetInfoAttr(s->doc, HPDF_INFO_CREATOR, "tongban");
  s->regular = HPDF_GetFont(s->doc, "SimSun", "GBK-EUC-H");
  s->bold = HPDF_GetFont(s->doc, "SimHei", "GBK-EUC-H");
  s->page = HPDF_AddPage(s->doc);
  if (s->page != nullptr) HPDF_Page_SetSize(s->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
  if (s->error.error != HPDF_OK || s->page == nullptr) {
    return Error::Internal("pdf: libharu cannot set up the page (error " +
                           std::to_string(s->error.error) + ")");
  }
  return std::unique_ptr<PdfPage>(new PdfPage(std::move(s)));
}

PdfPage::PdfPage(std::unique_ptr<State> state) : s_(std::move(state)) {}
PdfPage::~PdfPage() = default;

void PdfPage::Text(double x, double y, double size, std::string_view utf8, bool bold) {
  s_->GbkText(x, y, size, s_->ToGbk(utf8), bold);
}

double PdfPage::Width(std::string_view utf8, double size, bool bold) {
  return s_->GbkWidth(s_->ToGbk(utf8), size, bold);
}

void PdfPage::Centred(double y, double size, std::string_view utf8, bool bold) {
  std::string g = s_->ToGbk(utf8);
  s_->GbkText((kWidth - s_->GbkWidth(g, size, bold)) / 2, y, size, g, bold);
}

double PdfPage::Wrapped(double x, double y, double width, double size, double leading,
                        std::string_view utf8) {
  std::string g = s_->ToGbk(utf8);
  size_t start = 0;
  if (g.empty()) return y + leading;
  while (start < g.size()) {
    size_t end = start;
    double w = 0;
    while (end < g.size()) {
      size_t n = GbkCharLength(g, end);
      double cw = s_->GbkWidth(std::string_view(g).substr(end, n), size, false);
      if (w + cw > width && end > start) break;
      w += cw;
      end += n;
    }
    s_->GbkText(x, y, size, std::string_view(g).substr(start, end - start), false);
    y += leading;
    start = end;
  }
  return y;
}

void PdfPage::Rule(double x1, double y1, double x2, double y2) {
  HPDF_Page_SetLineWidth(s_->page, 0.6f);
  HPDF_Page_MoveTo(s_->page, static_cast<HPDF_REAL>(x1), static_cast<HPDF_REAL>(kHeight - y1));
  HPDF_Page_LineTo(s_->page, static_cast<HPDF_REAL>(x2), static_cast<HPDF_REAL>(kHeight - y2));
  HPDF_Page_Stroke(s_->page);
}

void PdfPage::Box(double x, double y, double w, double h) {
  HPDF_Page_SetLineWidth(s_->page, 0.6f);
  HPDF_Page_Rectangle(s_->page, static_cast<HPDF_REAL>(x), static_cast<HPDF_REAL>(kHeight - y - h),
                      static_cast<HPDF_REAL>(w), static_cast<HPDF_REAL>(h));
  HPDF_Page_Stroke(s_->page);
}

Status PdfPage::Qr(double x, double y, double size, std::string_view data) {
  std::string text(data);
  QRcode* qr = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (qr == nullptr) return Error::InvalidArgument("pdf: the QR content does not fit");
  const int n = qr->width;
  constexpr int kQuiet = 2;
  const double module = size / (n + 2 * kQuiet);
  HPDF_Page_SetRGBFill(s_->page, 0, 0, 0);
  for (int row = 0; row < n; ++row) {
    for (int col = 0; col < n;) {
      if ((qr->data[row * n + col] & 1) == 0) {
        ++col;
        continue;
      }
      int run = 1;
      while (col + run < n && (qr->data[row * n + col + run] & 1) != 0) ++run;
      const double left = x + (kQuiet + col) * module;
      const double top = y + (kQuiet + row) * module;
      HPDF_Page_Rectangle(s_->page, static_cast<HPDF_REAL>(left),
                          static_cast<HPDF_REAL>(kHeight - top - module),
                          static_cast<HPDF_REAL>(run * module), static_cast<HPDF_REAL>(module));
      col += run;
    }
  }
  HPDF_Page_Fill(s_->page);
  QRcode_free(qr);
  return Status::Ok();
}

Result<std::string> PdfPage::Finish() {
  if (s_->error.error == HPDF_OK && HPDF_SaveToStream(s_->doc) == HPDF_OK) {
    std::string pdf(HPDF_GetStreamSize(s_->doc), '\0');
    HPDF_UINT32 size = static_cast<HPDF_UINT32>(pdf.size());
    HPDF_STATUS read =
        HPDF_ReadFromStream(s_->doc, reinterpret_cast<HPDF_BYTE*>(pdf.data()), &size);
    if (read == HPDF_OK || read == HPDF_STREAM_EOF) {
      pdf.resize(size);
      return pdf;
    }
  }
  return Error::Internal("pdf: libharu failed (error " + std::to_string(s_->error.error) +
                         ", detail " + std::to_string(s_->error.detail) + ")");
}

}  // namespace tongban::doc
