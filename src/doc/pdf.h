// A small A4 PDF writer for printouts (payment receipts and forms, exchange
// work orders): libharu with its built-in Chinese fonts (SimSun, SimHei;
// GBK-EUC-H, so text is converted from UTF-8 to GBK with ICU), text placed by
// points from the top-left corner, wrapped rows, rules and a QR code. Module
// doc sits below the subsystems (core only); approval/notices.cc keeps its own
// layout code (its line breaking rules differ) for now.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::doc {

class PdfPage {
 public:
  static constexpr double kWidth = 595.276;
  static constexpr double kHeight = 841.89;
  static constexpr double kMargin = 56;

  // One A4 page. Errors: Internal when libharu or ICU cannot start.
  static Result<std::unique_ptr<PdfPage>> Create();
  ~PdfPage();
  PdfPage(const PdfPage&) = delete;
  PdfPage& operator=(const PdfPage&) = delete;

  // UTF-8 text with its baseline at (x, y) points from the top-left; characters
  // GBK lacks print as '?', control characters are dropped.
  void Text(double x, double y, double size, std::string_view utf8, bool bold = false);
  void Centred(double y, double size, std::string_view utf8, bool bold = false);
  // Wraps `utf8` into lines no wider than `width`, from baseline y; returns the
  // baseline after the last line.
  double Wrapped(double x, double y, double width, double size, double leading,
                 std::string_view utf8);
  double Width(std::string_view utf8, double size, bool bold = false);
  void Rule(double x1, double y1, double x2, double y2);
  void Box(double x, double y, double w, double h);
  // A QR code (level M) of `data`, `size` points square, top-left at (x, y).
  Status Qr(double x, double y, double size, std::string_view data);
  // The document's bytes. Errors: Internal naming the first libharu failure.
  Result<std::string> Finish();

  struct State;

 private:
  explicit PdfPage(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace tongban::doc
