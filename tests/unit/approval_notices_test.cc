#include "approval/notices.h"

#include <gtest/gtest.h>
#include <qrencode.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace tongban::approval {
namespace {

namespace fs = std::filesystem;
using G = NoticeGeometry;

// Renders with poppler's command-line tools (poppler-utils), as a reader would see the PDF.
constexpr int kDpi = 144;  // 2 pixels per point
constexpr double kPx = kDpi / 72.0;

struct Image {
  int width = 0, height = 0;
  std::vector<unsigned char> gray;  // 0 black .. 255 white
  int at(double x_pt, double y_pt) const {
    const int x = static_cast<int>(x_pt * kPx), y = static_cast<int>(y_pt * kPx);
    if (x < 0 || y < 0 || x >= width || y >= height) return 255;
    return gray[static_cast<std::size_t>(y) * width + x];
  }
  // Dark pixels in the rectangle [x0, x1) x [y0, y1), in points.
  int DarkIn(double x0, double y0, double x1, double y1) const {
    int dark = 0;
    for (int y = static_cast<int>(y0 * kPx); y < static_cast<int>(y1 * kPx) && y < height; ++y) {
      for (int x = static_cast<int>(x0 * kPx); x < static_cast<int>(x1 * kPx) && x < width; ++x) {
        if (gray[static_cast<std::size_t>(y) * width + x] < 128) ++dark;
      }
    }
    return dark;
  }
};

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A binary PGM (P5) as pdftoppm writes it.
Image ParsePgm(const std::string& bytes) {
  Image image;
  std::istringstream in(bytes);
  std::string magic;
  int max = 0;
  in >> magic >> image.width >> image.height >> max;
  in.get();  // the single white-space byte before the raster
  EXPECT_EQ(magic, "P5");
  EXPECT_EQ(max, 255);
  image.gray.resize(static_cast<std::size_t>(image.width) * image.height);
  in.read(reinterpret_cast<char*>(image.gray.data()),
          static_cast<std::streamsize>(image.gray.size()));
  EXPECT_EQ(in.gcount(), static_cast<std::streamsize>(image.gray.size()));
  return image;
}

class Rendered {
 public:
  explicit Rendered(const std::string& pdf) {
    char pattern[] = "/tmp/notice_test_XXXXXX";
    dir_ = mkdtemp(pattern);
    {
      std::ofstream out(dir_ / "n.pdf", std::ios::binary);
      out.write(pdf.data(), static_cast<std::streamsize>(pdf.size()));
    }
    const std::string pdf_path = (dir_ / "n.pdf").string();
    const std::string prefix = (dir_ / "page").string();
    EXPECT_EQ(std::system(("pdftoppm -r " + std::to_string(kDpi) + " -gray '" + pdf_path + "' '" +
                           prefix + "'")
                              .c_str()),
              0);
    EXPECT_EQ(std::system(("pdftotext -enc UTF-8 '" + pdf_path + "' '" +
                           (dir_ / "n.txt").string() + "'")
                              .c_str()),
              0);
    text_ = ReadAll(dir_ / "n.txt");
    for (int page = 1; fs::exists(dir_ / ("page-" + std::to_string(page) + ".pgm")); ++page) {
      pages_.push_back(ParsePgm(ReadAll(dir_ / ("page-" + std::to_string(page) + ".pgm"))));
    }
  }
  ~Rendered() { fs::remove_all(dir_); }

  const std::vector<Image>& pages() const { return pages_; }
  const std::string& text() const { return text_; }
  std::string compact_text() const;

 private:
  fs::path dir_;
  std::vector<Image> pages_;
  std::string text_;
};

// Text without white space, so wrapped lines join up again, and with ASCII for the full-width
// forms: poppler maps the CIDs that GBK-EUC-H gives ASCII bytes to U+FF01..U+FF5E (and the space
// to U+3000), so "2024" extracts as "２０２４"; the expected strings go through the same mapping.
std::string Compact(std::string_view text) {
  std::string s;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    if (i + 2 < text.size() && b(0) == 0xEF && (b(1) == 0xBC || b(1) == 0xBD)) {
      const unsigned cp = 0xF000 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
      if (cp >= 0xFF01 && cp <= 0xFF5E) {
        s.push_back(static_cast<char>(cp - 0xFF01 + '!'));
        i += 2;
        continue;
      }
    }
    if (i + 2 < text.size() && b(0) == 0xE3 && b(1) == 0x80 && b(2) == 0x80) {
      i += 2;  // U+3000
      continue;
    }
    const char c = text[i];
    if (c != ' ' && c != '\n' && c != '\f' && c != '\r') s.push_back(c);
  }
  return s;
}

std::string Rendered::compact_text() const { return Compact(text_); }

NoticeData Sample() {
  NoticeData d;
  d.case_number = "3301060020000000000000000000001202403050007";
  d.matter_name = "食品经营许可（新办）";
  d.applicant_name = "杭州西湖龙井茶叶有限公司";
  d.org_name = "杭州市西湖区市场监督管理局";
  d.registered_at_ms = 1709600000000;   // 2024-03-05 08:53 CST
  d.accepted_at_ms = 1709622000000;     // 2024-03-05 15:00 CST
  d.deadline_ms = 1711036799000;        // 2024-03-21 23:59:59 CST
  d.completed_at_ms = 1710400000000;    // 2024-03-14 CST
  d.issued_at_ms = 1709622000000;
  d.reason = "申请材料中的营业执照已过期。";
  d.missing_materials = {"有效的营业执照副本", "食品安全管理制度"};
  d.result = "准予许可";
  d.lookup_url = "https://zwfw.example.gov.cn/hall/lookup?case=" + d.case_number;
  return d;
}

constexpr NoticeKind kAllKinds[] = {NoticeKind::kAcceptance, NoticeKind::kRefusal,
                                    NoticeKind::kCorrection, NoticeKind::kCompletion};

TEST(ApprovalNoticesTest, EachKindIsAPdfWhoseChineseTitleRenders) {
  const NoticePrinter printer;
  for (NoticeKind kind : kAllKinds) {
    SCOPED_TRACE(std::string(NoticeKindName(kind)));
    auto pdf = printer.Print(kind, Sample());
    ASSERT_TRUE(pdf.ok()) << pdf.error().message;
    ASSERT_EQ(pdf->substr(0, 5), "%PDF-");
    const Rendered r(*pdf);
    ASSERT_EQ(r.pages().size(), 1u);
    const Image& page = r.pages()[0];
    EXPECT_NEAR(page.width, G::kPageWidth * kPx, 2);
    const int all_dark = page.DarkIn(0, 0, G::kPageWidth, G::kPageHeight);
    EXPECT_GT(all_dark, page.width * page.height / 100) << "hardly anything drawn";
    // The title's glyphs: a missing font or a bad encoding leaves this band white.
    const double half = NoticeTitle(kind).size() / 3 * G::kTitleSize / 2 - 4;
    EXPECT_GT(page.DarkIn(G::kPageWidth / 2 - half, G::kTitleBaseline - G::kTitleSize,
                          G::kPageWidth / 2 + half, G::kTitleBaseline + 3),
              1500);
    EXPECT_NE(r.compact_text().find(NoticeTitle(kind)), std::string::npos) << r.text();
  }
}

TEST(ApprovalNoticesTest, TheNoticeNamesCaseMatterApplicantOrgAndDates) {
  auto pdf = NoticePrinter().Print(NoticeKind::kAcceptance, Sample());
  ASSERT_TRUE(pdf.ok());
  const Rendered r(*pdf);
  const std::string text = r.compact_text();
  for (const std::string& expected :
       {Sample().case_number, Sample().matter_name, Sample().applicant_name, Sample().org_name,
        std::string("2024年3月5日提交"), std::string("承诺办结时限：2024年3月21日前")}) {
    EXPECT_NE(text.find(Compact(expected)), std::string::npos) << expected << "\n" << r.text();
  }
}

TEST(ApprovalNoticesTest, EachKindSaysWhatItDecides) {
  const NoticePrinter printer;
  NoticeData d = Sample();
  auto refusal = printer.Print(NoticeKind::kRefusal, d);
  auto correction = printer.Print(NoticeKind::kCorrection, d);
  d.result = "不予许可";
  d.reason = "经现场核查，经营场所不符合要求。";
  auto completion = printer.Print(NoticeKind::kCompletion, d);
  ASSERT_TRUE(refusal.ok() && correction.ok() && completion.ok());
  const std::string refused = Rendered(*refusal).compact_text();
  EXPECT_NE(refused.find(Compact("决定不予受理")), std::string::npos);
  EXPECT_NE(refused.find(Compact("理由：申请材料中的营业执照已过期。")), std::string::npos);
  EXPECT_NE(refused.find(Compact("行政复议")), std::string::npos);
  const std::string corrected = Rendered(*correction).compact_text();
  EXPECT_NE(corrected.find(Compact("1.有效的营业执照副本")), std::string::npos) << corrected;
  EXPECT_NE(corrected.find(Compact("2.食品安全管理制度")), std::string::npos);
  const std::string completed = Rendered(*completion).compact_text();
  EXPECT_NE(completed.find(Compact("已于2024年3月14日办结")), std::string::npos) << completed;
  EXPECT_NE(completed.find(Compact("办理结果：不予许可")), std::string::npos);
  EXPECT_NE(completed.find(Compact("经营场所不符合要求")), std::string::npos);
}

TEST(ApprovalNoticesTest, QrModulesAreDarkExactlyWhereTheMatrixSays) {
  const NoticeData d = Sample();
  auto pdf = NoticePrinter().Print(NoticeKind::kAcceptance, d);
  ASSERT_TRUE(pdf.ok());
  const Rendered r(*pdf);
  std::unique_ptr<QRcode, void (*)(QRcode*)> qr(
      QRcode_encodeString(d.lookup_url.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), QRcode_free);
  ASSERT_TRUE(qr);
  const int n = qr->width;
  const double module = G::kQrSize / (n + 2 * G::kQrQuietModules);
  ASSERT_GT(module * kPx, 4) << "modules too small to sample";
  int wrong = 0, dark = 0;
  for (int row = 0; row < n; ++row) {
    for (int col = 0; col < n; ++col) {
      const bool want_dark = qr->data[row * n + col] & 1;
      const double x = G::kQrLeft + (G::kQrQuietModules + col + 0.5) * module;
      const double y = G::kQrTop + (G::kQrQuietModules + row + 0.5) * module;
      const int gray = r.pages()[0].at(x, y);
      if (want_dark) ++dark;
      if (want_dark ? gray > 64 : gray < 192) ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(dark, n * n / 3);
  // The quiet zone is white.
  EXPECT_EQ(r.pages()[0].DarkIn(G::kQrLeft, G::kQrTop, G::kQrLeft + G::kQrSize,
                                G::kQrTop + module * G::kQrQuietModules - 0.5),
            0);
}

TEST(ApprovalNoticesTest, NoLookupUrlPrintsNoQrCode) {
  NoticeData d = Sample();
  d.lookup_url.clear();
  auto pdf = NoticePrinter().Print(NoticeKind::kAcceptance, d);
  ASSERT_TRUE(pdf.ok());
  EXPECT_EQ(Rendered(*pdf).pages()[0].DarkIn(G::kQrLeft, G::kQrTop, G::kQrLeft + G::kQrSize,
                                             G::kQrTop + G::kQrSize),
            0);
}

TEST(ApprovalNoticesTest, CharactersGbkLacksPrintAsQuestionMarks) {
  NoticeData d = Sample();
  d.applicant_name = "张\xF0\xA0\x80\x80三";  // U+20000, CJK extension B: not in GBK
  d.matter_name = "控制\x01字符\x7F与坏字节\xFF";
  auto pdf = NoticePrinter().Print(NoticeKind::kAcceptance, d);
  ASSERT_TRUE(pdf.ok()) << pdf.error().message;
  const std::string text = Rendered(*pdf).compact_text();
  EXPECT_NE(text.find(Compact("张?三：")), std::string::npos) << text;
  EXPECT_NE(text.find(Compact("控制字符与坏字节?")), std::string::npos) << text;
}

TEST(ApprovalNoticesTest, LongTextWrapsInsideTheMargins) {
  NoticeData d = Sample();
  d.reason.clear();
  for (int i = 0; i < 12; ++i) d.reason += "申请人提交的经营场所使用证明与实际经营地址不一致，";
  d.reason += "see https://zwfw.example.gov.cn/hall/guide/330100000000 for the full requirements.";
  auto pdf = NoticePrinter().Print(NoticeKind::kRefusal, d);
  ASSERT_TRUE(pdf.ok());
  const Rendered r(*pdf);
  const Image& page = r.pages()[0];
  // Nothing below the heading crosses the right or left margin.
  EXPECT_EQ(page.DarkIn(G::kPageWidth - G::kMargin + 1, 250, G::kPageWidth, G::kPageHeight), 0);
  EXPECT_EQ(page.DarkIn(0, 250, G::kMargin - 1, G::kPageHeight), 0);
  EXPECT_NE(r.compact_text().find(Compact(d.reason)), std::string::npos) << r.text();
}

TEST(ApprovalNoticesTest, ManyMaterialsContinueOnASecondPage) {
  NoticeData d = Sample();
  d.missing_materials.clear();
  for (int i = 1; i <= 30; ++i) d.missing_materials.push_back("补正材料第" + std::to_string(i) + "项");
  auto pdf = NoticePrinter().Print(NoticeKind::kCorrection, d);
  ASSERT_TRUE(pdf.ok());
  const Rendered r(*pdf);
  ASSERT_EQ(r.pages().size(), 2u);
  EXPECT_NE(r.compact_text().find(Compact("30.补正材料第30项")), std::string::npos);
  // The signature is on the second page, above its bottom margin.
  EXPECT_GT(r.pages()[1].DarkIn(G::kMargin, 0, G::kPageWidth - G::kMargin, G::kPageHeight), 0);
  EXPECT_EQ(r.pages()[1].DarkIn(0, G::kPageHeight - 60, G::kPageWidth, G::kPageHeight), 0);
}

TEST(ApprovalNoticesTest, BadInputIsAnErrorValue) {
  NoticeData d = Sample();
  d.case_number.clear();
  auto pdf = NoticePrinter().Print(NoticeKind::kAcceptance, d);
  ASSERT_FALSE(pdf.ok());
  EXPECT_EQ(pdf.error().code, errc::kInvalidArgument);

  d = Sample();
  d.lookup_url = "https://example.gov.cn/?" + std::string(4000, 'x');
  pdf = NoticePrinter().Print(NoticeKind::kAcceptance, d);
  ASSERT_FALSE(pdf.ok());
  EXPECT_EQ(pdf.error().code, errc::kInvalidArgument);
}

TEST(ApprovalNoticesTest, KindNamesRoundTrip) {
  for (NoticeKind kind : kAllKinds) EXPECT_EQ(ParseNoticeKind(NoticeKindName(kind)), kind);
  EXPECT_FALSE(ParseNoticeKind("receipt").has_value());
}

}  // namespace
}  // namespace tongban::approval
