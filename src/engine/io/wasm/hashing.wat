;; The hash functions whose values are part of file compatibility (see ../hashing.ts), in
;; WebAssembly for its 64-bit multiply: in JavaScript each 64-bit product takes a dozen
;; 32-bit steps, and hashing the key was a sixth of a hash file lookup. The key is copied
;; to the start of the memory first; every function reads its `len` bytes from offset 0.
(module
  (memory (export "memory") 1)

  ;; MurmurHash64A with Tkrzw's order of steps: each 8-byte block is mixed, then the
  ;; running hash is multiplied before the block is folded in.
  (func $murmur (param $len i32) (param $seed i64) (result i64)
    (local $h i64) (local $k i64) (local $i i32) (local $rest i32) (local $tail i64)
    (local.set $h (i64.xor (local.get $seed) (i64.mul (i64.extend_i32_u (local.get $len)) (i64.const 0xc6a4a7935bd1e995))))
    (block $blocks_done
      (loop $blocks
        (br_if $blocks_done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
        (local.set $k (i64.mul (i64.load (local.get $i)) (i64.const 0xc6a4a7935bd1e995)))
        (local.set $k (i64.mul (i64.xor (local.get $k) (i64.shr_u (local.get $k) (i64.const 47))) (i64.const 0xc6a4a7935bd1e995)))
        (local.set $h (i64.xor (i64.mul (local.get $h) (i64.const 0xc6a4a7935bd1e995)) (local.get $k)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $blocks)))
    ;; The last 1 to 7 bytes, little-endian, folded in as one integer.
    (local.set $rest (i32.sub (local.get $len) (local.get $i)))
    (if (local.get $rest)
      (then
        (block $tail_done
          (loop $tail_bytes
            (br_if $tail_done (i32.eqz (local.get $rest)))
            (local.set $rest (i32.sub (local.get $rest) (i32.const 1)))
            (local.set $tail (i64.or (i64.shl (local.get $tail) (i64.const 8))
              (i64.load8_u (i32.add (local.get $i) (local.get $rest)))))
            (br $tail_bytes)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (local.get $tail)) (i64.const 0xc6a4a7935bd1e995)))))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 47))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0xc6a4a7935bd1e995)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 47))))

  ;; FNV-1a over 64 bits with Tkrzw's multiplier.
  (func $fnv (param $len i32) (result i64)
    (local $h i64) (local $i i32)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $i))) (i64.const 109951162811)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes)))
    (local.get $h))

  ;; A 64-bit hash reduced to a slot among `count` (a whole number below 2^53, passed as a
  ;; double so that no BigInt is made): below 2^32 slots, the hash is first folded to 32 bits
  ;; by swapping the halves of each word and joining them with xor.
  (func $slot (param $h i64) (param $count f64) (result f64)
    (if (result f64) (f64.le (local.get $count) (f64.const 4294967295))
      (then
        (f64.convert_i32_u (i32.rem_u
          (i32.rotl (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32))) (i32.wrap_i64 (local.get $h))) (i32.const 16))
          (i32.trunc_f64_u (local.get $count)))))
      (else (f64.convert_i64_u (i64.rem_u (local.get $h) (i64.trunc_f64_u (local.get $count)))))))

  (func (export "murmur") (param $len i32) (param $seed i64) (result i64)
    (call $murmur (local.get $len) (local.get $seed)))

  (func (export "fnv") (param $len i32) (result i64)
    (call $fnv (local.get $len)))

  ;; A hash file's bucket: MurmurHash64A with the file format's seed.
  (func (export "bucket") (param $len i32) (param $buckets f64) (result f64)
    (call $slot (call $murmur (local.get $len) (i64.const 19780211)) (local.get $buckets)))

  ;; A sharded database's shard: FNV-1a.
  (func (export "shard") (param $len i32) (param $shards f64) (result f64)
    (call $slot (call $fnv (local.get $len)) (local.get $shards))))
