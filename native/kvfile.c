// The few system calls the storage engine needs and Node.js does not offer: record locks
// that Tkrzw's tools see, memory-mapped files (writes through a shared mapping are in the
// operating system's page cache the moment they are made, so a killed process loses
// nothing it wrote), msync, and allocating disk space ahead of use (so a full disk shows
// as an error at a moment of our choosing, never as a fault inside a mapping).
//
// Failures come back as negative errno numbers; the TypeScript side names them.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) return throw_last(env);   \
  } while (0)

static napi_value throw_last(napi_env env) {
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "KV_NATIVE", info && info->error_message ? info->error_message : "native call failed");
  return NULL;
}

static napi_value make_int(napi_env env, int64_t value) {
  napi_value result;
  if (napi_create_int64(env, value, &result) != napi_ok) return throw_last(env);
  return result;
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < want) {
    napi_throw_type_error(env, "KV_NATIVE", "missing arguments");
    return false;
  }
  return true;
}

static bool get_i64(napi_env env, napi_value value, int64_t* out) {
  if (napi_get_value_int64(env, value, out) != napi_ok) {
    napi_throw_type_error(env, "KV_NATIVE", "expected a number");
    return false;
  }
  return true;
}

// ---- locks ----

// Whole-file record locks. Open-file-description locks (F_OFD_*) belong to the descriptor,
// not the process, so closing another descriptor of the same file keeps them, and two
// opens in one process exclude each other; they conflict with the classic process locks
// Tkrzw takes. Kernels without them fall back to the classic kind.
static int set_lock(int fd, short type) {
  struct flock fl;
  memset(&fl, 0, sizeof(fl));
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
  if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
  if (errno != EINVAL) return -errno;
#endif
  if (fcntl(fd, F_SETLK, &fl) == 0) return 0;
  return -errno;
}

// lock(fd, mode): mode 0 unlocks, 1 takes a shared lock, 2 an exclusive one, without
// waiting. Returns 0 or a negative errno (EAGAIN or EACCES: someone else holds it).
static napi_value js_lock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd, mode;
  if (!get_args(env, info, 2, argv) || !get_i64(env, argv[0], &fd) || !get_i64(env, argv[1], &mode)) return NULL;
  short type = mode == 0 ? F_UNLCK : mode == 1 ? F_RDLCK : F_WRLCK;
  return make_int(env, set_lock((int)fd, type));
}

// holder(fd, exclusive): who keeps the lock from being taken. 0: nobody; -1: a holder
// whose process is not known (an open-file-description lock); otherwise its process id.
static napi_value js_holder(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd, exclusive;
  if (!get_args(env, info, 2, argv) || !get_i64(env, argv[0], &fd) || !get_i64(env, argv[1], &exclusive)) return NULL;
  struct flock fl;
  memset(&fl, 0, sizeof(fl));
  fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  int rc = -1;
#ifdef F_OFD_GETLK
  rc = fcntl((int)fd, F_OFD_GETLK, &fl);
#endif
  if (rc != 0) {
    memset(&fl, 0, sizeof(fl));
    fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl((int)fd, F_GETLK, &fl) != 0) return make_int(env, -1);
  }
  if (fl.l_type == F_UNLCK) return make_int(env, 0);
  return make_int(env, fl.l_pid > 0 ? fl.l_pid : -1);
}

// ---- space ----

// allocate(fd, offset, length): makes the range exist on disk, growing the file. Returns 0
// or a negative errno (ENOSPC). Filesystems that cannot preallocate grow the file sparse.
static napi_value js_allocate(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t fd, offset, length;
  if (!get_args(env, info, 3, argv) || !get_i64(env, argv[0], &fd) || !get_i64(env, argv[1], &offset) ||
      !get_i64(env, argv[2], &length)) {
    return NULL;
  }
  int rc = posix_fallocate((int)fd, (off_t)offset, (off_t)length);
  if (rc == EOPNOTSUPP || rc == EINVAL) {
    if (ftruncate((int)fd, (off_t)(offset + length)) != 0) return make_int(env, -errno);
    return make_int(env, 0);
  }
  return make_int(env, -rc);
}

// ---- mappings ----

// A mapping lives until it is unmapped explicitly (at close) or its buffer is collected,
// whichever comes first. The finalizer finds its own record through its hint, never by
// address: after an explicit unmap, the same addresses may belong to a newer mapping.
typedef struct Mapping {
  void* addr;
  size_t length;
  bool mapped;
  struct Mapping* next;
} Mapping;

// The mappings still mapped, for unmap() to find by the buffer's address.
static Mapping* live = NULL;
static pthread_mutex_t live_mutex = PTHREAD_MUTEX_INITIALIZER;

static void unlink_live(Mapping* mapping) {
  for (Mapping** link = &live; *link != NULL; link = &(*link)->next) {
    if (*link == mapping) {
      *link = mapping->next;
      return;
    }
  }
}

static void finalize_mapping(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  Mapping* mapping = (Mapping*)hint;
  pthread_mutex_lock(&live_mutex);
  if (mapping->mapped) {
    unlink_live(mapping);
    munmap(mapping->addr, mapping->length);
    mapping->mapped = false;
  }
  pthread_mutex_unlock(&live_mutex);
  free(mapping);
}

// map(fd, offset, length, writable): a Buffer over the file's bytes [offset, offset +
// length), shared with the file. The range may reach past the end of the file; touching
// bytes there faults, so the caller keeps within the file's size.
static napi_value js_map(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int64_t fd, offset, length;
  bool writable;
  if (!get_args(env, info, 4, argv) || !get_i64(env, argv[0], &fd) || !get_i64(env, argv[1], &offset) ||
      !get_i64(env, argv[2], &length)) {
    return NULL;
  }
  CHECK(napi_get_value_bool(env, argv[3], &writable));
  if (length <= 0 || offset < 0) {
    napi_throw_range_error(env, "KV_NATIVE", "bad mapping range");
    return NULL;
  }
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* addr = mmap(NULL, (size_t)length, prot, MAP_SHARED, (int)fd, (off_t)offset);
  if (addr == MAP_FAILED) return make_int(env, -errno);
  Mapping* mapping = malloc(sizeof(Mapping));
  if (mapping == NULL) {
    munmap(addr, (size_t)length);
    return make_int(env, -ENOMEM);
  }
  mapping->addr = addr;
  mapping->length = (size_t)length;
  mapping->mapped = true;
  pthread_mutex_lock(&live_mutex);
  mapping->next = live;
  live = mapping;
  pthread_mutex_unlock(&live_mutex);
  napi_value buffer;
  if (napi_create_external_buffer(env, (size_t)length, addr, finalize_mapping, mapping, &buffer) != napi_ok) {
    finalize_mapping(env, addr, mapping);
    return throw_last(env);
  }
  return buffer;
}

// unmap(buffer): detaches the buffer (every view of it becomes empty, so nothing can touch
// the range afterwards) and unmaps it now rather than at garbage collection.
static napi_value js_unmap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  void* data = NULL;
  size_t length = 0;
  napi_value arraybuffer;
  CHECK(napi_get_buffer_info(env, argv[0], &data, &length));
  CHECK(napi_get_named_property(env, argv[0], "buffer", &arraybuffer));
  CHECK(napi_detach_arraybuffer(env, arraybuffer));
  pthread_mutex_lock(&live_mutex);
  for (Mapping* mapping = live; mapping != NULL; mapping = mapping->next) {
    if (mapping->addr == data) {
      unlink_live(mapping);
      munmap(mapping->addr, mapping->length);
      mapping->mapped = false;
      break;
    }
  }
  pthread_mutex_unlock(&live_mutex);
  return NULL;
}

// msync(buffer, offset, length): writes the range's changed pages to the device and waits.
static napi_value js_msync(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t offset, length;
  if (!get_args(env, info, 3, argv) || !get_i64(env, argv[1], &offset) || !get_i64(env, argv[2], &length)) return NULL;
  void* data = NULL;
  size_t size = 0;
  CHECK(napi_get_buffer_info(env, argv[0], &data, &size));
  if (offset < 0 || length < 0 || (size_t)(offset + length) > size) {
    napi_throw_range_error(env, "KV_NATIVE", "bad msync range");
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  int64_t start = offset - offset % page;
  if (length == 0) return make_int(env, 0);
  if (msync((char*)data + start, (size_t)(offset + length - start), MS_SYNC) != 0) return make_int(env, -errno);
  return make_int(env, 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"lock", NULL, js_lock, NULL, NULL, NULL, napi_default, NULL},
      {"holder", NULL, js_holder, NULL, NULL, NULL, napi_default, NULL},
      {"allocate", NULL, js_allocate, NULL, NULL, NULL, napi_default, NULL},
      {"map", NULL, js_map, NULL, NULL, NULL, napi_default, NULL},
      {"unmap", NULL, js_unmap, NULL, NULL, NULL, napi_default, NULL},
      {"msync", NULL, js_msync, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return throw_last(env);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
