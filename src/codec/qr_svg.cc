#include "codec/qr_svg.h"

#include <qrencode.h>

#include <memory>
#include <string>

namespace tongban::codec {
namespace {

struct QrDeleter {
  void operator()(QRcode* qr) const { QRcode_free(qr); }
};

constexpr int kQuietModules = 4;

}  // namespace

Result<std::string> QrSvg(std::string_view text, int module_px) {
  const std::string data(text);
  std::unique_ptr<QRcode, QrDeleter> qr(
      QRcode_encodeString8bit(data.c_str(), 0, QR_ECLEVEL_M));
  if (!qr) return Error::InvalidArgument("text does not fit a QR code");
  const int modules = qr->width + 2 * kQuietModules;
  const int px = modules * module_px;
  std::string svg;
  svg.reserve(static_cast<size_t>(qr->width * qr->width) * 12 + 256);
  svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
      .append(std::to_string(px))
      .append("\" height=\"")
      .append(std::to_string(px))
      .append("\" viewBox=\"0 0 ")
      .append(std::to_string(modules))
      .append(" ")
      .append(std::to_string(modules))
      .append("\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">")
      .append("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"");
  // One horizontal run per row of dark modules keeps the path short.
  for (int y = 0; y < qr->width; ++y) {
    int x = 0;
    while (x < qr->width) {
      if ((qr->data[y * qr->width + x] & 1) == 0) {
        ++x;
        continue;
      }
      int end = x;
      while (end < qr->width && (qr->data[y * qr->width + end] & 1) != 0) ++end;
      svg.append("M")
          .append(std::to_string(x + kQuietModules))
          .append(" ")
          .append(std::to_string(y + kQuietModules))
          .append("h")
          .append(std::to_string(end - x))
          .append("v1h-")
          .append(std::to_string(end - x))
          .append("z");
      x = end;
    }
  }
  svg.append("\"/></svg>");
  return svg;
}

}  // namespace tongban::codec
