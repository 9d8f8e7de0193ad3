// The delivery's fast path for horizontal tables: a batch of provider rows held column-wise
// (flat vectors, no map per record), read natively from SQLite and PostgreSQL nodes, and
// applied to PostgreSQL (COPY into a staging table + one guarded INSERT … ON CONFLICT, bisected
// on failure) and SQLite (one kept native upsert stepped per row) subscribers. The promises are
// DeliveryEngine's (delivery.h); records are only built for rows that fail.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "exchange/model.h"
#include "store/sql_store.h"

namespace tongban::exchange {

// Rows of a horizontal table; business values row-major, `width` per row, in the order of the
// definition's fields that were read.
struct RowBatch {
  size_t width = 0;
  std::vector<std::string> tongid, xk_lydw, xk_lydwdm, areacode;
  std::vector<char> sync_status;
  std::vector<int64_t> dataversion, create_time, seq;
  std::vector<std::string> cells;
  std::vector<char> null;  // per cell: 1 = NULL

  size_t size() const { return tongid.size(); }
  const std::string* Cell(size_t row, size_t col) const {
    const size_t i = row * width + col;
    return null[i] ? nullptr : &cells[i];
  }
  // The row as a Record keyed by `codes` (the fields read, in order).
  Record ToRecord(size_t row, const std::vector<Field>& fields) const;
};

// Rows of `resource` (horizontal) with tong_seq > `after`, in order, at most `limit`; checks
// the table against the definition first (CheckTable). `reuse` (an earlier batch, e.g. the one
// just applied) lends its buffers: its strings are overwritten in place, so a steady flow of
// batches allocates and page-faults nothing per cell. Values are the text of CAST(x AS TEXT)
// byte for byte (SQLite integers are formatted by tongban instead of by a CAST).
Result<RowBatch> ReadRowBatch(SqlStore& node, const Resource& resource, int64_t after, int limit,
                              RowBatch reuse = {});

// What applying a batch did; failures name rows of the batch.
struct RowApply {
  int applied = 0;
  int unchanged = 0;
  std::vector<std::pair<size_t, std::string>> failures;
  bool fallback = false;  // the fast path could not stage the batch: nothing was written
};

// Whether ApplyRowBatch handles `node`'s backend (PostgreSQL, SQLite).
bool FastApplySupported(const SqlStore& node);

// Writes `rows` of `batch` (validated, one per tongid, in seq order) into the horizontal
// table `target` in ONE transaction, idempotently on (tongid, dataversion): absent → insert,
// held older → update, held same or newer → unchanged. `source_col[j]` = the batch column
// of target field j (-1 = NULL). A row the database refuses becomes a failure while the others
// move (PostgreSQL: the failing range is bisected under savepoints, so one bad row costs
// O(log n) statements, not a row-by-row batch). A lost connection fails the whole call.
Result<RowApply> ApplyRowBatch(SqlStore& node, const Resource& target, const RowBatch& batch,
                               const std::vector<int>& source_col, const std::vector<size_t>& rows,
                               int64_t now_ms);

// COPY … FROM STDIN of `data` (text format) on a PostgreSQL session's libpq connection;
// throws soci::postgresql_soci_error on failure (so savepoint handling and error mapping apply).
void PgCopyIn(soci::session& sql, const std::string& copy, const std::string& data);

// The name of a PostgreSQL staging table (per connection) for resource
// `code`: "tbs_" + the code, or for a code too long for PostgreSQL's 63-byte
// names its first 42 bytes and a digest of the whole, so that two long codes
// never share one.
std::string StagingTableName(std::string_view code);

}  // namespace tongban::exchange
