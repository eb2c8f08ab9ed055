/**
 * kv as a library: open a database of any class by a configuration string, use it through
 * the DBM contract, or talk to a Tkrzw-RPC server (kv serve or tkrzw_server) through
 * RemoteDBM.
 *
 *     import {openConfig} from 'kv'
 *     const dbm = openConfig('casket.tkh#num_buckets=1000000')
 *     dbm.set('apple', 'red')
 *     dbm.get('apple')?.toString()   // 'red'
 *     dbm.close()
 */
export {openConfig, openDBM, restoreDatabase, type OpenDBMOptions} from './engine/poly.js'
export {
  ANY_VALUE,
  DBM,
  DBMIterator,
  INT64_MIN,
  NOOP,
  REMOVE,
  type Bytes,
  type Change,
  type Desired,
  type Expected,
  type InspectList,
  type Record,
  type RecordProcessor,
  type WriteObserver,
} from './engine/dbm.js'
export {CLASSES, availableClasses, classInfo, selectClass, type ClassInfo, type DBMClass} from './engine/classes.js'
export {parseConfig, parseParams} from './engine/params.js'
export {Code, StatusError} from './engine/status.js'
export {RemoteDBM, type ConnectOptions} from './client/remote-dbm.js'
