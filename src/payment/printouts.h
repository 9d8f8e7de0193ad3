// The payment subsystem's printouts as A4 PDF: the 电子缴款凭证 (receipt) of a
// paid notice with a QR code of its verification URL, and the onboarding form
// (接入执收单位端联系单) with every opinion given. Also the receipt's check code,
// which the verification endpoint recomputes. Used by the API.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "payment/model.h"

namespace tongban::payment {

// 16 hex digits of HMAC-SHA256(key, notice number, PAYNO, paid fen): printed
// on the receipt and carried by its QR code, so that a forged receipt (another
// amount, another notice) fails verification. Key: the node's, never printed.
std::string ReceiptCheckCode(std::string_view key, const PaymentNotice& notice);

// Errors: FailedPrecondition-like Conflict when the notice was never paid;
// Internal when the PDF library fails.
Result<std::string> PrintReceipt(const PaymentNotice& notice, const Payment& payment,
                                 std::string_view check_code, std::string_view verify_url);

Result<std::string> PrintApplication(const Application& application);

// "110105********002X": the first 6 and last 4 characters of an ID.
std::string MaskId(std::string_view id);

}  // namespace tongban::payment
