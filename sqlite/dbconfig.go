package sqlite

/*
typedef struct sqlite3 sqlite3;
int sqlite3_db_config(sqlite3*, int, ...);

// SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE of sqlite3.h (go-sqlite3 does not
// export its copy of the header).
#define MLRUN_DBCONFIG_NO_CKPT_ON_CLOSE 1006

// mlrun_no_ckpt_on_close sets the NO_CKPT_ON_CLOSE flag of connection db
// and returns the flag's value afterwards, or -1 if SQLite refused.
static int mlrun_no_ckpt_on_close(void *db) {
	int on = -1;
	if (sqlite3_db_config((sqlite3*)db, MLRUN_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &on) != 0) {
		return -1;
	}
	return on;
}
*/
import "C"

import (
	"errors"
	"reflect"

	"github.com/mattn/go-sqlite3"
)

// skipCheckpointOnClose sets SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE on conn:
// when conn is the last connection to the database, closing it leaves the
// WAL (and its -shm index) as they are instead of copying the WAL into the
// database file, syncing both and deleting them.
//
// go-sqlite3 has no sqlite3_db_config, so this reads the connection's
// unexported SQLite handle and calls the function of the SQLite that
// go-sqlite3 links. TestCloseLeavesTheWAL fails if a go-sqlite3 upgrade
// renames the field or the flag stops working.
func skipCheckpointOnClose(conn *sqlite3.SQLiteConn) error {
	f := reflect.ValueOf(conn).Elem().FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return errors.New("go-sqlite3's connection has no SQLite handle field named db")
	}
	if C.mlrun_no_ckpt_on_close(f.UnsafePointer()) != 1 {
		return errors.New("SQLite refused SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE")
	}
	return nil
}
