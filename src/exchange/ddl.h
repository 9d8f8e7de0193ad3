// DDL for a resource's table on its node (前置机), per backend, so departments need not
// hand-write it: the business columns, the control columns, and the change capture that
// fills the monotone tong_seq the delivery's high-water mark runs over. Also the check that
// an existing table matches a definition. Used by the API/CLI ("create table") and delivery.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "exchange/model.h"
#include "store/sql_dialect.h"
#include "store/sql_store.h"

namespace tongban::exchange {

// An identifier quoted for `dialect` ("x" or `x`). Only for IsSafeIdentifier names.
std::string QuoteIdent(SqlDialect dialect, std::string_view identifier);

// The statements that create `resource`'s table and its change capture on a node of
// `dialect`, in order. Change capture: every insert and update of a row gives it the next
// tong_seq, in commit order (SQLite: one writer at a time, MAX+1; PostgreSQL: a sequence
// behind a per-table advisory lock held until commit; MySQL: a row of tong_seq_counters
// locked until commit — so a value never becomes visible after a larger one); an update that does
// not raise dataversion gets dataversion + 1; an insert with create_time 0 gets the current time in
// ms. InvalidArgument when the definition fails ValidateResource.
// PostgreSQL: the trigger is skipped in a transaction that has SET LOCAL kPgApplySetting = 'on';
// such a transaction must do the trigger's work itself (the lock of PgCaptureLockSql, tong_seq
// from the sequence PgCaptureSequence, create_time) — the exchange's apply does (batch.cc).
Result<std::vector<std::string>> CreateTableStatements(const Resource& resource,
                                                       SqlDialect dialect);

inline constexpr std::string_view kPgApplySetting = "tongban.apply";
// The sequence behind `table`'s tong_seq on PostgreSQL, and the statement taking the capture's
// per-table lock (held until commit), both as the trigger of CreateTableStatements uses them.
std::string PgCaptureSequence(std::string_view table);
std::string PgCaptureLockSql(std::string_view table);

// Runs CreateTableStatements on `node`. AlreadyExists when the table is there (use
// CheckTable to see whether it fits).
Status CreateTable(SqlStore& node, const Resource& resource);

// Whether the node's table has every column the definition needs; InvalidArgument naming
// the first missing column, NotFound when the table does not exist.
Status CheckTable(soci::session& sql, SqlDialect dialect, const Resource& resource);

// SQL column type of a field on `dialect`.
std::string ColumnType(const Field& field, SqlDialect dialect);

}  // namespace tongban::exchange
