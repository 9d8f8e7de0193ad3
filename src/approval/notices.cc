#include "approval/notices.h"

#include <hpdf.h>
#include <qrencode.h>
#include <unicode/ucnv.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <memory>

namespace tongban::approval {
namespace {

using G = NoticeGeometry;

constexpr double kBodySize = 14;    // 四号
constexpr double kBodyLeading = 26;
constexpr double kBodyTop = 280;    // first body baseline on page 1, points from the top
constexpr double kTopMargin = 72;   // on continuation pages
constexpr double kBottomMargin = 72;
constexpr double kTextWidth = G::kPageWidth - 2 * G::kMargin;

// ---- text: UTF-8 to the GBK bytes libharu's GBK-EUC-H encoding takes ----

class GbkConverter {
 public:
  GbkConverter() {
    UErrorCode status = U_ZERO_ERROR;
    converter_ = ucnv_open("GBK", &status);
    if (U_FAILURE(status)) {
      converter_ = nullptr;
      error_ = u_errorName(status);
      return;
    }
    ucnv_setSubstChars(converter_, "?", 1, &status);
    if (U_FAILURE(status)) error_ = u_errorName(status);
  }
  ~GbkConverter() {
    if (converter_ != nullptr) ucnv_close(converter_);
  }
  GbkConverter(const GbkConverter&) = delete;
  GbkConverter& operator=(const GbkConverter&) = delete;

  Status status() const {
    if (error_.empty()) return Status::Ok();
    return Error::Internal("notice: ICU cannot convert to GBK (" + error_ + ")");
  }

  // `utf8` in GBK; ill-formed UTF-8 and characters GBK lacks become '?', control characters
  // (which no font draws) are dropped.
  Result<std::string> Convert(std::string_view utf8) {
    if (utf8.empty()) return std::string();
    UErrorCode status = U_ZERO_ERROR;
    std::u16string wide(utf8.size() + 1, u'\0');
    int32_t wide_length = 0;
    u_strFromUTF8WithSub(wide.data(), static_cast<int32_t>(wide.size()), &wide_length,
                         utf8.data(), static_cast<int32_t>(utf8.size()), u'?', nullptr, &status);
    if (U_FAILURE(status)) return Error::Internal(std::string("notice: UTF-8 to UTF-16: ") +
                                                  u_errorName(status));
    wide.resize(static_cast<std::size_t>(wide_length));
    std::erase_if(wide, [](char16_t c) { return c < 0x20 || c == 0x7F; });
    std::string gbk(wide.size() * 2 + 1, '\0');
    ucnv_resetFromUnicode(converter_);
    const int32_t length =
        ucnv_fromUChars(converter_, gbk.data(), static_cast<int32_t>(gbk.size()), wide.data(),
                        static_cast<int32_t>(wide.size()), &status);
    if (U_FAILURE(status)) return Error::Internal(std::string("notice: UTF-16 to GBK: ") +
                                                  u_errorName(status));
    gbk.resize(static_cast<std::size_t>(length));
    return gbk;
  }

 private:
  UConverter* converter_ = nullptr;
  std::string error_;
};

// ---- dates ----

// "2024年1月2日" in China Standard Time (UTC+8, no daylight saving).
std::string ChineseDate(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000 + 8 * 3600);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return std::to_string(tm.tm_year + 1900) + "年" + std::to_string(tm.tm_mon + 1) + "月" +
         std::to_string(tm.tm_mday) + "日";
}

// ---- libharu ----

struct HaruError {
  HPDF_STATUS error = HPDF_OK;
  HPDF_STATUS detail = 0;
};

// libharu reports through this callback and then returns an error code from the call; the
// first error is kept and turned into an Error once control is back in Print.
void RecordHaruError(HPDF_STATUS error, HPDF_STATUS detail, void* user_data) {
  auto* e = static_cast<HaruError*>(user_data);
  if (e->error == HPDF_OK) {
    e->error = error;
    e->detail = detail;
  }
}

struct DocDeleter {
  void operator()(HPDF_Doc doc) const { HPDF_Free(doc); }
};
using DocPtr = std::unique_ptr<std::remove_pointer_t<HPDF_Doc>, DocDeleter>;

struct QrDeleter {
  void operator()(QRcode* qr) const { QRcode_free(qr); }
};

// Bytes of the GBK character at s[i]: a lead byte 0x81..0xFE takes the next byte along.
std::size_t CharLength(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]) >= 0x81 && i + 1 < s.size() ? 2 : 1;
}

bool IsAsciiGraphic(char c) { return c > ' ' && c < 0x7F; }

// Punctuation a line must not start with, in GBK (A3AC ，A1A3 。A1A2 、A3BB ；A3BA ：A3BF ？
// A3A1 ！A3A9 ）A1B1 ”A1AF ’A1B7 》A1B5 〉A1BF 】A1AD …) or ASCII.
bool IsClosingPunctuation(std::string_view s, std::size_t i) {
  static constexpr unsigned kWide[] = {0xA3AC, 0xA1A3, 0xA1A2, 0xA3BB, 0xA3BA, 0xA3BF, 0xA3A1,
                                       0xA3A9, 0xA1B1, 0xA1AF, 0xA1B7, 0xA1B5, 0xA1BF, 0xA1AD};
  if (CharLength(s, i) == 1) return std::string_view(",.;:?!)").find(s[i]) != std::string_view::npos;
  const unsigned code =
      static_cast<unsigned>(static_cast<unsigned char>(s[i])) << 8 | static_cast<unsigned char>(s[i + 1]);
  return std::find(std::begin(kWide), std::end(kWide), code) != std::end(kWide);
}

// Lays text out top-down over as many pages as it needs.
class Layout {
 public:
  Layout(HPDF_Doc doc, const HaruError& error) : doc_(doc), error_(error) {}

  Status Start() {
    regular_ = HPDF_GetFont(doc_, "SimSun", "GBK-EUC-H");
    heading_ = HPDF_GetFont(doc_, "SimHei", "GBK-EUC-H");
    TB_RETURN_IF_ERROR(Check("loading the GB fonts"));
    return NewPage(kBodyTop);
  }

  HPDF_Page page() const { return page_; }
  HPDF_Font regular() const { return regular_; }
  HPDF_Font heading() const { return heading_; }
  double y() const { return y_; }
  void Skip(double points) { y_ += points; }

  Status Check(std::string_view what) const {
    if (error_.error == HPDF_OK) return Status::Ok();
    return Failure(what);
  }

  // The Error for a failed libharu call, with libharu's error number when it reported one.
  Error Failure(std::string_view what) const {
    return Error::Internal("notice: libharu failed " + std::string(what) + " (error 0x" +
                           ToHex(error_.error) + ", detail " + std::to_string(error_.detail) +
                           ")");
  }

  double Width(HPDF_Font font, double size, std::string_view gbk) const {
    if (gbk.empty()) return 0;
    const HPDF_TextWidth w = HPDF_Font_TextWidth(
        font, reinterpret_cast<const HPDF_BYTE*>(gbk.data()), static_cast<HPDF_UINT>(gbk.size()));
    return w.width * size / 1000.0;
  }

  // One line at (x, baseline y), both in points from the top-left. Spaces are left as gaps
  // rather than drawn: a reader substituting a font for SimSun may have no glyph for the CID
  // GBK-EUC-H gives the ASCII space, and draws a box. (0x20 is never the second byte of a GBK
  // character, so splitting there is safe.)
  void Text(HPDF_Font font, double size, double x, double y, std::string_view gbk) {
    if (gbk.empty()) return;
    HPDF_Page_BeginText(page_);
    HPDF_Page_SetFontAndSize(page_, font, static_cast<HPDF_REAL>(size));
    std::size_t start = 0;
    while (start < gbk.size()) {
      std::size_t end = gbk.find(' ', start);
      if (end == std::string_view::npos) end = gbk.size();
      if (end > start) {
        const std::string run(gbk.substr(start, end - start));
        HPDF_Page_TextOut(page_, static_cast<HPDF_REAL>(x + Width(font, size, gbk.substr(0, start))),
                          static_cast<HPDF_REAL>(G::kPageHeight - y), run.c_str());
      }
      start = end + 1;
    }
    HPDF_Page_EndText(page_);
  }

  void Centred(HPDF_Font font, double size, double y, const std::string& gbk) {
    Text(font, size, (G::kPageWidth - Width(font, size, gbk)) / 2, y, gbk);
  }

  void RightAligned(HPDF_Font font, double size, double y, const std::string& gbk) {
    Text(font, size, G::kPageWidth - G::kMargin - Width(font, size, gbk), y, gbk);
  }

  // A paragraph wrapped to the text width: the first line starts `first_indent` from the
  // margin, the others `indent`. A Latin word (or URL) that would be split moves to the next
  // line when the line has a space before it; otherwise lines break between any two
  // characters (CJK text has no spaces), but never before
  // closing punctuation (避头: a line does not start with ，。、） …): the character before
  // it moves down too.
  Status Paragraph(const std::string& gbk, double first_indent, double indent) {
    std::size_t start = 0;
    bool first = true;
    while (start < gbk.size() || first) {
      const double x = G::kMargin + (first ? first_indent : indent);
      const double room = kTextWidth - (first ? first_indent : indent);
      std::vector<std::size_t> starts;  // where each character of the line starts
      std::size_t end = start, last_space = std::string::npos;
      double width = 0;
      while (end < gbk.size()) {
        const std::size_t n = CharLength(gbk, end);
        const double w = Width(regular_, kBodySize, std::string_view(gbk).substr(end, n));
        if (width + w > room && end > start) break;
        if (n == 1 && gbk[end] == ' ') last_space = end;
        starts.push_back(end);
        width += w;
        end += n;
      }
      std::size_t next = end;
      if (end < gbk.size()) {
        // (A lone byte below 0x81 is a whole character; the trail byte of a GBK pair may look
        // like ASCII, hence the look-up by character start.)
        const bool splits_a_word = !starts.empty() && IsAsciiGraphic(gbk[end]) &&
                                   IsAsciiGraphic(gbk[starts.back()]) &&
                                   CharLength(gbk, starts.back()) == 1;
        if (splits_a_word && last_space != std::string::npos && last_space > start) {
          end = last_space;
          next = last_space + 1;
        } else if (starts.size() >= 2 && IsClosingPunctuation(gbk, end)) {
          end = next = starts.back();
        }
      }
      TB_RETURN_IF_ERROR(EnsureRoom(kBodyLeading));
      Text(regular_, kBodySize, x, y_, std::string_view(gbk).substr(start, end - start));
      y_ += kBodyLeading;
      start = next;
      first = false;
    }
    return Check("writing text");
  }

  // Starts a new page when fewer than `height` points are left above the bottom margin.
  Status EnsureRoom(double height) {
    if (y_ + height <= G::kPageHeight - kBottomMargin + kBodyLeading) return Status::Ok();
    return NewPage(kTopMargin + kBodySize);
  }

 private:
  static std::string ToHex(HPDF_STATUS v) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string s;
    for (int shift = 12; shift >= 0; shift -= 4) s.push_back(kDigits[(v >> shift) & 0xF]);
    return s;
  }

  Status NewPage(double first_baseline) {
    page_ = HPDF_AddPage(doc_);
    if (page_ != nullptr) HPDF_Page_SetSize(page_, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    y_ = first_baseline;
    return Check("adding a page");
  }

  HPDF_Doc doc_;
  const HaruError& error_;
  HPDF_Page page_ = nullptr;
  HPDF_Font regular_ = nullptr;
  HPDF_Font heading_ = nullptr;
  double y_ = 0;
};

// The QR code as filled rectangles, one per horizontal run of dark modules.
void DrawQr(HPDF_Page page, const QRcode& qr) {
  const int n = qr.width;
  const double module = G::kQrSize / (n + 2 * G::kQrQuietModules);
  HPDF_Page_SetRGBFill(page, 0, 0, 0);
  for (int row = 0; row < n; ++row) {
    for (int col = 0; col < n;) {
      if ((qr.data[row * n + col] & 1) == 0) {
        ++col;
        continue;
      }
      int run = 1;
      while (col + run < n && (qr.data[row * n + col + run] & 1) != 0) ++run;
      const double x = G::kQrLeft + (G::kQrQuietModules + col) * module;
      const double top = G::kQrTop + (G::kQrQuietModules + row) * module;
      HPDF_Page_Rectangle(page, static_cast<HPDF_REAL>(x),
                          static_cast<HPDF_REAL>(G::kPageHeight - top - module),
                          static_cast<HPDF_REAL>(run * module), static_cast<HPDF_REAL>(module));
      col += run;
    }
  }
  HPDF_Page_Fill(page);
}

// The body paragraphs of each notice, in UTF-8.
struct Body {
  std::vector<std::string> paragraphs;   // indented two characters
  std::vector<std::string> list;         // numbered, hanging indent (补正 materials)
  std::vector<std::string> after_list;
};

std::string Submitted(const NoticeData& d) {
  const std::string when =
      d.registered_at_ms > 0 ? "于" + ChineseDate(d.registered_at_ms) : std::string();
  const std::string matter = d.matter_name.empty() ? "" : "“" + d.matter_name + "”";
  return "你（单位）" + when + "提交的" + matter + "申请";
}

constexpr std::string_view kAppealRights =
    "如不服本决定，可以自收到本通知书之日起六十日内依法申请行政复议，或者六个月内依法向人民法院"
    "提起行政诉讼。";

Body Compose(NoticeKind kind, const NoticeData& d) {
  Body b;
  switch (kind) {
    case NoticeKind::kAcceptance:
      b.paragraphs.push_back(Submitted(d) +
                             "，经审查，申请材料齐全、符合法定形式，本机关决定予以受理。");
      if (d.accepted_at_ms > 0) b.paragraphs.push_back("受理日期：" + ChineseDate(d.accepted_at_ms));
      if (d.deadline_ms > 0) {
        b.paragraphs.push_back("承诺办结时限：" + ChineseDate(d.deadline_ms) +
                               "前（补齐补正、特别程序所需时间不计算在内）。");
      }
      b.paragraphs.push_back("可凭办件编号和查询密码在网上查询办理进度，或扫描右上角二维码。");
      break;
    case NoticeKind::kRefusal:
      b.paragraphs.push_back(Submitted(d) + "，经审查，本机关决定不予受理。");
      if (!d.reason.empty()) b.paragraphs.push_back("理由：" + d.reason);
      b.paragraphs.emplace_back(kAppealRights);
      break;
    case NoticeKind::kCorrection:
      b.paragraphs.push_back(Submitted(d) +
                             "，申请材料不齐全或者不符合法定形式。请补正以下材料：");
      b.list = d.missing_materials;
      if (!d.reason.empty()) b.after_list.push_back("说明：" + d.reason);
      b.after_list.emplace_back(
          "补正期间不计算在办理时限内。材料补正齐全后，本机关将继续办理；请凭办件编号和查询密码"
          "在网上查询办理进度。");
      break;
    case NoticeKind::kCompletion:
      b.paragraphs.push_back(
          Submitted(d) + "，本机关" +
          (d.completed_at_ms > 0 ? "已于" + ChineseDate(d.completed_at_ms) + "办结。"
                                 : std::string("已办结。")));
      if (!d.result.empty()) b.paragraphs.push_back("办理结果：" + d.result);
      if (!d.reason.empty()) {
        b.paragraphs.push_back("理由：" + d.reason);
        b.paragraphs.emplace_back(kAppealRights);
      }
      break;
  }
  return b;
}

}  // namespace

std::string_view NoticeKindName(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kAcceptance: return "acceptance";
    case NoticeKind::kRefusal: return "refusal";
    case NoticeKind::kCorrection: return "correction";
    case NoticeKind::kCompletion: return "completion";
  }
  return "";
}

std::optional<NoticeKind> ParseNoticeKind(std::string_view name) {
  for (NoticeKind k : {NoticeKind::kAcceptance, NoticeKind::kRefusal, NoticeKind::kCorrection,
                       NoticeKind::kCompletion}) {
    if (name == NoticeKindName(k)) return k;
  }
  return std::nullopt;
}

std::string_view NoticeTitle(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kAcceptance: return "受理通知书";
    case NoticeKind::kRefusal: return "不予受理通知书";
    case NoticeKind::kCorrection: return "补正告知书";
    case NoticeKind::kCompletion: return "办结通知书";
  }
  return "";
}

Result<std::string> NoticePrinter::Print(NoticeKind kind, const NoticeData& data) const {
  if (data.case_number.empty()) return Error::InvalidArgument("notice: no case number");
  std::unique_ptr<QRcode, QrDeleter> qr;
  if (!data.lookup_url.empty()) {
    qr.reset(QRcode_encodeString(data.lookup_url.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
    if (!qr) {
      if (errno == ERANGE || errno == EINVAL) {
        return Error::InvalidArgument("notice: the lookup URL does not fit in a QR code");
      }
      return Error::Internal("notice: QR encoding failed");
    }
  }

  GbkConverter gbk;
  TB_RETURN_IF_ERROR(gbk.status());
  auto convert = [&gbk](std::string_view utf8) { return gbk.Convert(utf8); };

  HaruError error;
  DocPtr doc(HPDF_New(RecordHaruError, &error));
  if (!doc) return Error::Internal("notice: libharu cannot create a document");
  HPDF_SetCompressionMode(doc.get(), HPDF_COMP_ALL);
  HPDF_UseCNSFonts(doc.get());
  HPDF_UseCNSEncodings(doc.get());
  HPDF_SetInfoAttr(doc.get(), HPDF_INFO_CREATOR, "tongban");
  Layout layout(doc.get(), error);
  TB_RETURN_IF_ERROR(layout.Check("setting up the document"));
  TB_RETURN_IF_ERROR(layout.Start());

  // Head: QR code top right, the org, the title, the case number.
  if (qr) {
    DrawQr(layout.page(), *qr);
    auto caption = convert("扫码查询办理进度");
    if (!caption.ok()) return std::move(caption).error();
    const double caption_width = layout.Width(layout.regular(), 8, *caption);
    layout.Text(layout.regular(), 8, G::kQrLeft + (G::kQrSize - caption_width) / 2,
                G::kQrTop + G::kQrSize + 8, *caption);
  }
  auto org = convert(data.org_name);
  auto title = convert(NoticeTitle(kind));
  auto number = convert("办件编号：" + data.case_number);
  auto salutation = convert((data.applicant_name.empty() ? "申请人" : data.applicant_name) + "：");
  for (auto* r : {&org, &title, &number, &salutation}) {
    if (!r->ok()) return std::move(*r).error();
  }
  layout.Centred(layout.regular(), 16, 170, *org);
  layout.Centred(layout.heading(), G::kTitleSize, G::kTitleBaseline, *title);
  layout.RightAligned(layout.regular(), 11, 240, *number);
  TB_RETURN_IF_ERROR(layout.Check("writing the heading"));

  // Body.
  TB_RETURN_IF_ERROR(layout.Paragraph(*salutation, 0, 0));
  const Body body = Compose(kind, data);
  for (const std::string& p : body.paragraphs) {
    auto text = convert(p);
    if (!text.ok()) return std::move(text).error();
    TB_RETURN_IF_ERROR(layout.Paragraph(*text, 2 * kBodySize, 0));
  }
  for (std::size_t i = 0; i < body.list.size(); ++i) {
    auto text = convert(std::to_string(i + 1) + ". " + body.list[i]);
    if (!text.ok()) return std::move(text).error();
    TB_RETURN_IF_ERROR(layout.Paragraph(*text, 2 * kBodySize, 3.5 * kBodySize));
  }
  for (const std::string& p : body.after_list) {
    auto text = convert(p);
    if (!text.ok()) return std::move(text).error();
    TB_RETURN_IF_ERROR(layout.Paragraph(*text, 2 * kBodySize, 0));
  }

  // Signature: the org and the date of the decision, right-aligned, kept together.
  layout.Skip(kBodyLeading);
  TB_RETURN_IF_ERROR(layout.EnsureRoom(2 * kBodyLeading));
  layout.RightAligned(layout.regular(), kBodySize, layout.y(), *org);
  layout.Skip(kBodyLeading);
  if (data.issued_at_ms > 0) {
    auto date = convert(ChineseDate(data.issued_at_ms));
    if (!date.ok()) return std::move(date).error();
    layout.RightAligned(layout.regular(), kBodySize, layout.y(), *date);
  }
  TB_RETURN_IF_ERROR(layout.Check("writing the signature"));

  if (HPDF_SaveToStream(doc.get()) != HPDF_OK) return layout.Failure("saving the PDF");
  std::string pdf(HPDF_GetStreamSize(doc.get()), '\0');
  HPDF_UINT32 size = static_cast<HPDF_UINT32>(pdf.size());
  const HPDF_STATUS read =
      HPDF_ReadFromStream(doc.get(), reinterpret_cast<HPDF_BYTE*>(pdf.data()), &size);
  if (read != HPDF_OK && read != HPDF_STREAM_EOF) return layout.Failure("reading the PDF back");
  pdf.resize(size);
  return pdf;
}

}  // namespace tongban::approval
