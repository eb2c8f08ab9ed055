;; The hash functions whose values are part of file compatibility (see ../hashing.ts), in
;; WebAssembly for its native 64-bit multiply: in JavaScript each 64-bit product takes a dozen
;; 32-bit steps, and hashing the key was a sixth of a hash file lookup.
;;
;; Keys are read from the start of the memory, one page of it: a key longer than that is
;; hashed in pieces, each copied in and folded into the running state (the globals), so the
;; memory never grows. A key that fits is hashed in one call.
(module
  (memory (export "memory") 1)

  (global $murmur_state (mut i64) (i64.const 0))
  (global $fnv_state (mut i64) (i64.const 0))

  ;; MurmurHash64A with Tkrzw's order of steps: the running hash is multiplied before each
  ;; 8-byte block, mixed on its own, is folded in.
  (func $murmur_begin (param $len i64) (param $seed i64)
    (global.set $murmur_state (i64.xor (local.get $seed) (i64.mul (local.get $len) (i64.const 0xc6a4a7935bd1e995)))))

  ;; Folds in the 8-byte blocks in memory[0, len); len is a multiple of 8.
  (func $murmur_blocks (param $len i32)
    (local $h i64) (local $k i64) (local $i i32)
    (local.set $h (global.get $murmur_state))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $k (i64.mul (i64.load (local.get $i)) (i64.const 0xc6a4a7935bd1e995)))
        (local.set $k (i64.mul (i64.xor (local.get $k) (i64.shr_u (local.get $k) (i64.const 47))) (i64.const 0xc6a4a7935bd1e995)))
        (local.set $h (i64.xor (i64.mul (local.get $h) (i64.const 0xc6a4a7935bd1e995)) (local.get $k)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $blocks)))
    (global.set $murmur_state (local.get $h)))

  ;; Folds in the last 0 to 7 bytes, at memory[at, at + rest), little-endian as one integer,
  ;; and mixes the result.
  (func $murmur_end (param $at i32) (param $rest i32) (result i64)
    (local $h i64) (local $tail i64)
    (local.set $h (global.get $murmur_state))
    (if (local.get $rest)
      (then
        (block $done
          (loop $bytes
            (br_if $done (i32.eqz (local.get $rest)))
            (local.set $rest (i32.sub (local.get $rest) (i32.const 1)))
            (local.set $tail (i64.or (i64.shl (local.get $tail) (i64.const 8))
              (i64.load8_u (i32.add (local.get $at) (local.get $rest)))))
            (br $bytes)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (local.get $tail)) (i64.const 0xc6a4a7935bd1e995)))))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 47))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0xc6a4a7935bd1e995)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 47))))

  ;; MurmurHash64A of memory[0, len).
  (func $murmur (param $len i32) (param $seed i64) (result i64)
    (local $whole i32)
    (local.set $whole (i32.and (local.get $len) (i32.const -8)))
    (call $murmur_begin (i64.extend_i32_u (local.get $len)) (local.get $seed))
    (call $murmur_blocks (local.get $whole))
    (call $murmur_end (local.get $whole) (i32.sub (local.get $len) (local.get $whole))))

  ;; FNV-1a over 64 bits with Tkrzw's multiplier: folds memory[0, len) into the state.
  (func $fnv_bytes (param $len i32)
    (local $h i64) (local $i i32)
    (local.set $h (global.get $fnv_state))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $i))) (i64.const 109951162811)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes)))
    (global.set $fnv_state (local.get $h)))

  (func $fnv_begin
    (global.set $fnv_state (i64.const 0xcbf29ce484222325)))

  (func $fnv (param $len i32) (result i64)
    (call $fnv_begin)
    (call $fnv_bytes (local.get $len))
    (global.get $fnv_state))

  ;; A 64-bit hash reduced to a slot among `count` (a whole number below 2^53, passed as a
  ;; double so that no BigInt is made): below 2^32 slots, the hash is first folded to 32 bits
  ;; by swapping the halves of each word and joining them with xor.
  (func $slot (export "slot") (param $h i64) (param $count f64) (result f64)
    (if (result f64) (f64.le (local.get $count) (f64.const 4294967295))
      (then
        (f64.convert_i32_u (i32.rem_u
          (i32.rotl (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32))) (i32.wrap_i64 (local.get $h))) (i32.const 16))
          (i32.trunc_f64_u (local.get $count)))))
      (else (f64.convert_i64_u (i64.rem_u (local.get $h) (i64.trunc_f64_u (local.get $count)))))))

  ;; The one-call forms, for a key that fits in the memory.
  (func (export "murmur") (param $len i32) (param $seed i64) (result i64)
    (call $murmur (local.get $len) (local.get $seed)))
  (func (export "fnv") (param $len i32) (result i64)
    (call $fnv (local.get $len)))
  ;; A hash file's bucket: MurmurHash64A with the file format's seed.
  (func (export "bucket") (param $len i32) (param $buckets f64) (result f64)
    (call $slot (call $murmur (local.get $len) (i64.const 19780211)) (local.get $buckets)))
  ;; A sharded database's shard: FNV-1a.
  (func (export "shard") (param $len i32) (param $shards f64) (result f64)
    (call $slot (call $fnv (local.get $len)) (local.get $shards)))

  ;; The pieces, for a longer key: begin, then blocks (or bytes) for each piece copied in,
  ;; then end. A murmur piece before the last is a multiple of 8 bytes long.
  (func (export "murmur_begin") (param $len f64) (param $seed i64)
    (call $murmur_begin (i64.trunc_f64_u (local.get $len)) (local.get $seed)))
  (func (export "murmur_blocks") (param $len i32)
    (call $murmur_blocks (local.get $len)))
  (func (export "murmur_end") (param $len i32) (result i64)
    (local $whole i32)
    (local.set $whole (i32.and (local.get $len) (i32.const -8)))
    (call $murmur_blocks (local.get $whole))
    (call $murmur_end (local.get $whole) (i32.sub (local.get $len) (local.get $whole))))
  (func (export "fnv_begin")
    (call $fnv_begin))
  (func (export "fnv_bytes") (param $len i32)
    (call $fnv_bytes (local.get $len)))
  (func (export "fnv_end") (result i64)
    (global.get $fnv_state)))
