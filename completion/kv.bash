# bash completion for kv: source this file (from ~/.bashrc, or /etc/bash_completion.d/).
# Generated from the command definitions by scripts/gen-completion.js; do not edit.

_kv_commands=(
  'dbm create'
  'dbm export'
  'dbm get'
  'dbm import'
  'dbm inspect'
  'dbm list'
  'dbm merge'
  'dbm perf parallel'
  'dbm perf rebuild'
  'dbm perf sequence'
  'dbm perf wicked'
  'dbm rebuild'
  'dbm rekey'
  'dbm remove'
  'dbm restore'
  'dbm set'
  'perf memcached'
  'perf parallel'
  'perf queue'
  'perf sequence'
  'perf wicked'
  'remote changemaster'
  'remote clear'
  'remote echo'
  'remote get'
  'remote inspect'
  'remote list'
  'remote queue'
  'remote rebuild'
  'remote remove'
  'remote replicate'
  'remote search'
  'remote set'
  'remote sync'
  'serve'
  'ulog listfiles'
  'ulog read'
  'ulog removeoldfiles'
  'ulog writeclear'
  'ulog writeremove'
  'ulog writeset'
)

# The flags of a command.
_kv_flags() {
  case "$1" in
    'dbm create') echo '--color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --buckets --comparator --in_place --append --record_crc --record_comp --offset_width --align_pow --max_page_size --max_branches --max_cached_pages --page_update_write --step_unit --max_level --sort_mem_size --insert_in_order --truncate' ;;
    'dbm export') echo '--json --color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --tsv --escape --keys' ;;
    'dbm get') echo '--json --color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --sx --multi --expiry' ;;
    'dbm import') echo '--color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --buckets --comparator --in_place --append --record_crc --record_comp --offset_width --align_pow --max_page_size --max_branches --max_cached_pages --page_update_write --step_unit --max_level --sort_mem_size --insert_in_order --tsv --escape --ulog --ulog_server_id --ulog_dbm_index' ;;
    'dbm inspect') echo '--json --color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --validate' ;;
    'dbm list') echo '--json --color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --move --jump_key --items --escape --keys' ;;
    'dbm merge') echo '--color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --no_overwrite --reducer' ;;
    'dbm perf parallel') echo '--json --color --no-color --buckets --comparator --in_place --append --record_crc --record_comp --offset_width --align_pow --max_page_size --max_branches --max_cached_pages --page_update_write --step_unit --max_level --sort_mem_size --insert_in_order --dbm --iter --size --path --params --random_seed --file --no_wait --no_lock --threads --keys --random_key --random_value --rebuild --sleep --validate' ;;
    'dbm perf rebuild') echo '--json --color --no-color --buckets --comparator --in_place --append --record_crc --record_comp --offset_width --align_pow --max_page_size --max_branches --max_cached_pages --page_update_write --step_unit --max_level --sort_mem_size --insert_in_order --dbm --iter --size --path --params --random_seed --file --no_wait --no_lock' ;;
    'dbm perf sequence') echo '--json --color --no-color --buckets --comparator --in_place --append --record_crc --record_comp --offset_width --align_pow --max_page_size --max_branches --max_cached_pages --page_update_write --step_unit --max_level --sort_mem_size --insert_in_order --dbm --iter --size --path --params --random_seed --file --no_wait --no_lock --random_key --random_value --set_only --get_only --iter_only --remove_only --validate --copy --threads' ;;
    'dbm perf wicked') echo '--json --color --no-color --buckets --comparator --in_place --append --record_crc --record_comp --offset_width --align_pow --max_page_size --max_branches --max_cached_pages --page_update_write --step_unit --max_level --sort_mem_size --insert_in_order --dbm --iter --size --path --params --random_seed --file --no_wait --no_lock --iterator --no-iterator --clear --no-clear --rebuild --no-rebuild --validate' ;;
    'dbm rebuild') echo '--color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --buckets --comparator --in_place --append --record_crc --record_comp --offset_width --align_pow --max_page_size --max_branches --max_cached_pages --page_update_write --step_unit --max_level --sort_mem_size --insert_in_order --rebuild_params --restore' ;;
    'dbm rekey') echo '--color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --no_overwrite' ;;
    'dbm remove') echo '--color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --sx --multi' ;;
    'dbm restore') echo '--color --no-color --dbm --class --auto --end_offset' ;;
    'dbm set') echo '--color --no-color --dbm --params --file --no_wait --no_lock --sync_hard --sx --no_overwrite --append --incr --multi --reducer --ttl' ;;
    'perf memcached') echo '--json --color --no-color --address --iter --size --threads --pipeline --random_key --random_seed --set_only --get_only --remove_only' ;;
    'perf parallel') echo '--json --color --no-color --address --timeout --auth --index --iter --size --threads --separate --random_seed --random_key --random_value --stream --worker_threads' ;;
    'perf queue') echo '--json --color --no-color --address --timeout --auth --index --iter --size --threads --separate --random_seed --notify --retry' ;;
    'perf sequence') echo '--json --color --no-color --address --timeout --auth --index --iter --size --threads --separate --random_seed --random_key --random_value --echo_only --set_only --get_only --iter_only --remove_only --stream --ignore_result --worker_threads --multi' ;;
    'perf wicked') echo '--json --color --no-color --address --timeout --auth --index --iter --size --threads --separate --random_seed --iterator --clear --rebuild' ;;
    'remote changemaster') echo '--color --no-color --address --timeout --auth --index --ts_skew' ;;
    'remote clear') echo '--color --no-color --address --timeout --auth --index' ;;
    'remote echo') echo '--color --no-color --address --timeout --auth --index' ;;
    'remote get') echo '--json --color --no-color --address --timeout --auth --index --sx --multi --escape --expiry' ;;
    'remote inspect') echo '--json --color --no-color --address --timeout --auth --index' ;;
    'remote list') echo '--json --color --no-color --address --timeout --auth --index --move --jump_key --items --escape --keys' ;;
    'remote queue') echo '--color --no-color --address --timeout --auth --index --retry --notify --key --compex --escape' ;;
    'remote rebuild') echo '--color --no-color --address --timeout --auth --index' ;;
    'remote remove') echo '--color --no-color --address --timeout --auth --index --sx --multi' ;;
    'remote replicate') echo '--color --no-color --address --timeout --auth --index --ts_file --ts_from_dbm --ts_skew --server_id --wait --items --escape' ;;
    'remote search') echo '--json --color --no-color --address --timeout --auth --index --mode --items --escape --keys' ;;
    'remote set') echo '--color --no-color --address --timeout --auth --index --sx --no_overwrite --append --incr --multi --ttl' ;;
    'remote sync') echo '--color --no-color --address --timeout --auth --index --hard' ;;
    'serve') echo '--color --no-color --address --auth --threads --async --log_file --log_level --log_date --log_td --server_id --pid_file --daemon --shutdown_wait --read_only --max_connections --handshake_timeout --ulog_prefix --ulog_max_file_size --repl_master --repl_ts_file --repl_ts_from_dbm --repl_ts_skew --kt --script --script_timeout --script_memory --memcached --memcached_index --memcached_options --memcached_queue_wait --sweep_interval --repl_wait --idle_timeout' ;;
    'ulog listfiles') echo '--color --no-color --timestamp' ;;
    'ulog read') echo '--color --no-color --timestamp --server_id --dbm_index --items --escape' ;;
    'ulog removeoldfiles') echo '--color --no-color --timestamp --exclude_latest' ;;
    'ulog writeclear') echo '--color --no-color --timestamp --max_file_size --server_id --dbm_index' ;;
    'ulog writeremove') echo '--color --no-color --timestamp --max_file_size --server_id --dbm_index --sx' ;;
    'ulog writeset') echo '--color --no-color --timestamp --max_file_size --server_id --dbm_index --sx' ;;
  esac
}

# Whether a flag of a command takes a value.
_kv_takes_value() {
  case "$1 $2" in
    'dbm create --dbm'|'dbm create --params'|'dbm create --file'|'dbm create --alloc_init'|'dbm create --alloc_inc'|'dbm create --block_size'|'dbm create --buckets'|'dbm create --comparator'|'dbm create --record_crc'|'dbm create --record_comp'|'dbm create --offset_width'|'dbm create --align_pow'|'dbm create --max_page_size'|'dbm create --max_branches'|'dbm create --max_cached_pages'|'dbm create --step_unit'|'dbm create --max_level'|'dbm create --sort_mem_size') return 0 ;;
    'dbm export --dbm'|'dbm export --params'|'dbm export --file'|'dbm export --alloc_init'|'dbm export --alloc_inc'|'dbm export --block_size') return 0 ;;
    'dbm get --dbm'|'dbm get --params'|'dbm get --file'|'dbm get --alloc_init'|'dbm get --alloc_inc'|'dbm get --block_size') return 0 ;;
    'dbm import --dbm'|'dbm import --params'|'dbm import --file'|'dbm import --alloc_init'|'dbm import --alloc_inc'|'dbm import --block_size'|'dbm import --buckets'|'dbm import --comparator'|'dbm import --record_crc'|'dbm import --record_comp'|'dbm import --offset_width'|'dbm import --align_pow'|'dbm import --max_page_size'|'dbm import --max_branches'|'dbm import --max_cached_pages'|'dbm import --step_unit'|'dbm import --max_level'|'dbm import --sort_mem_size'|'dbm import --ulog'|'dbm import --ulog_server_id'|'dbm import --ulog_dbm_index') return 0 ;;
    'dbm inspect --dbm'|'dbm inspect --params'|'dbm inspect --file'|'dbm inspect --alloc_init'|'dbm inspect --alloc_inc'|'dbm inspect --block_size') return 0 ;;
    'dbm list --dbm'|'dbm list --params'|'dbm list --file'|'dbm list --alloc_init'|'dbm list --alloc_inc'|'dbm list --block_size'|'dbm list --move'|'dbm list --jump_key'|'dbm list --items') return 0 ;;
    'dbm merge --dbm'|'dbm merge --params'|'dbm merge --file'|'dbm merge --alloc_init'|'dbm merge --alloc_inc'|'dbm merge --block_size'|'dbm merge --reducer') return 0 ;;
    'dbm perf parallel --buckets'|'dbm perf parallel --comparator'|'dbm perf parallel --record_crc'|'dbm perf parallel --record_comp'|'dbm perf parallel --offset_width'|'dbm perf parallel --align_pow'|'dbm perf parallel --max_page_size'|'dbm perf parallel --max_branches'|'dbm perf parallel --max_cached_pages'|'dbm perf parallel --step_unit'|'dbm perf parallel --max_level'|'dbm perf parallel --sort_mem_size'|'dbm perf parallel --dbm'|'dbm perf parallel --iter'|'dbm perf parallel --size'|'dbm perf parallel --path'|'dbm perf parallel --params'|'dbm perf parallel --random_seed'|'dbm perf parallel --file'|'dbm perf parallel --alloc_init'|'dbm perf parallel --alloc_inc'|'dbm perf parallel --block_size'|'dbm perf parallel --threads'|'dbm perf parallel --keys'|'dbm perf parallel --sleep') return 0 ;;
    'dbm perf rebuild --buckets'|'dbm perf rebuild --comparator'|'dbm perf rebuild --record_crc'|'dbm perf rebuild --record_comp'|'dbm perf rebuild --offset_width'|'dbm perf rebuild --align_pow'|'dbm perf rebuild --max_page_size'|'dbm perf rebuild --max_branches'|'dbm perf rebuild --max_cached_pages'|'dbm perf rebuild --step_unit'|'dbm perf rebuild --max_level'|'dbm perf rebuild --sort_mem_size'|'dbm perf rebuild --dbm'|'dbm perf rebuild --iter'|'dbm perf rebuild --size'|'dbm perf rebuild --path'|'dbm perf rebuild --params'|'dbm perf rebuild --random_seed'|'dbm perf rebuild --file'|'dbm perf rebuild --alloc_init'|'dbm perf rebuild --alloc_inc'|'dbm perf rebuild --block_size') return 0 ;;
    'dbm perf sequence --buckets'|'dbm perf sequence --comparator'|'dbm perf sequence --record_crc'|'dbm perf sequence --record_comp'|'dbm perf sequence --offset_width'|'dbm perf sequence --align_pow'|'dbm perf sequence --max_page_size'|'dbm perf sequence --max_branches'|'dbm perf sequence --max_cached_pages'|'dbm perf sequence --step_unit'|'dbm perf sequence --max_level'|'dbm perf sequence --sort_mem_size'|'dbm perf sequence --dbm'|'dbm perf sequence --iter'|'dbm perf sequence --size'|'dbm perf sequence --path'|'dbm perf sequence --params'|'dbm perf sequence --random_seed'|'dbm perf sequence --file'|'dbm perf sequence --alloc_init'|'dbm perf sequence --alloc_inc'|'dbm perf sequence --block_size'|'dbm perf sequence --copy'|'dbm perf sequence --threads') return 0 ;;
    'dbm perf wicked --buckets'|'dbm perf wicked --comparator'|'dbm perf wicked --record_crc'|'dbm perf wicked --record_comp'|'dbm perf wicked --offset_width'|'dbm perf wicked --align_pow'|'dbm perf wicked --max_page_size'|'dbm perf wicked --max_branches'|'dbm perf wicked --max_cached_pages'|'dbm perf wicked --step_unit'|'dbm perf wicked --max_level'|'dbm perf wicked --sort_mem_size'|'dbm perf wicked --dbm'|'dbm perf wicked --iter'|'dbm perf wicked --size'|'dbm perf wicked --path'|'dbm perf wicked --params'|'dbm perf wicked --random_seed'|'dbm perf wicked --file'|'dbm perf wicked --alloc_init'|'dbm perf wicked --alloc_inc'|'dbm perf wicked --block_size') return 0 ;;
    'dbm rebuild --dbm'|'dbm rebuild --params'|'dbm rebuild --file'|'dbm rebuild --alloc_init'|'dbm rebuild --alloc_inc'|'dbm rebuild --block_size'|'dbm rebuild --buckets'|'dbm rebuild --comparator'|'dbm rebuild --record_crc'|'dbm rebuild --record_comp'|'dbm rebuild --offset_width'|'dbm rebuild --align_pow'|'dbm rebuild --max_page_size'|'dbm rebuild --max_branches'|'dbm rebuild --max_cached_pages'|'dbm rebuild --step_unit'|'dbm rebuild --max_level'|'dbm rebuild --sort_mem_size'|'dbm rebuild --rebuild_params') return 0 ;;
    'dbm rekey --dbm'|'dbm rekey --params'|'dbm rekey --file'|'dbm rekey --alloc_init'|'dbm rekey --alloc_inc'|'dbm rekey --block_size') return 0 ;;
    'dbm remove --dbm'|'dbm remove --params'|'dbm remove --file'|'dbm remove --alloc_init'|'dbm remove --alloc_inc'|'dbm remove --block_size') return 0 ;;
    'dbm restore --dbm'|'dbm restore --class'|'dbm restore --auto'|'dbm restore --end_offset') return 0 ;;
    'dbm set --dbm'|'dbm set --params'|'dbm set --file'|'dbm set --alloc_init'|'dbm set --alloc_inc'|'dbm set --block_size'|'dbm set --append'|'dbm set --incr'|'dbm set --reducer'|'dbm set --ttl') return 0 ;;
    'perf memcached --address'|'perf memcached --iter'|'perf memcached --size'|'perf memcached --threads'|'perf memcached --pipeline'|'perf memcached --random_seed') return 0 ;;
    'perf parallel --address'|'perf parallel --timeout'|'perf parallel --auth'|'perf parallel --index'|'perf parallel --iter'|'perf parallel --size'|'perf parallel --threads'|'perf parallel --random_seed'|'perf parallel --worker_threads') return 0 ;;
    'perf queue --address'|'perf queue --timeout'|'perf queue --auth'|'perf queue --index'|'perf queue --iter'|'perf queue --size'|'perf queue --threads'|'perf queue --random_seed'|'perf queue --retry') return 0 ;;
    'perf sequence --address'|'perf sequence --timeout'|'perf sequence --auth'|'perf sequence --index'|'perf sequence --iter'|'perf sequence --size'|'perf sequence --threads'|'perf sequence --random_seed'|'perf sequence --worker_threads'|'perf sequence --multi') return 0 ;;
    'perf wicked --address'|'perf wicked --timeout'|'perf wicked --auth'|'perf wicked --index'|'perf wicked --iter'|'perf wicked --size'|'perf wicked --threads'|'perf wicked --random_seed') return 0 ;;
    'remote changemaster --address'|'remote changemaster --timeout'|'remote changemaster --auth'|'remote changemaster --index'|'remote changemaster --ts_skew') return 0 ;;
    'remote clear --address'|'remote clear --timeout'|'remote clear --auth'|'remote clear --index') return 0 ;;
    'remote echo --address'|'remote echo --timeout'|'remote echo --auth'|'remote echo --index') return 0 ;;
    'remote get --address'|'remote get --timeout'|'remote get --auth'|'remote get --index') return 0 ;;
    'remote inspect --address'|'remote inspect --timeout'|'remote inspect --auth'|'remote inspect --index') return 0 ;;
    'remote list --address'|'remote list --timeout'|'remote list --auth'|'remote list --index'|'remote list --move'|'remote list --jump_key'|'remote list --items') return 0 ;;
    'remote queue --address'|'remote queue --timeout'|'remote queue --auth'|'remote queue --index'|'remote queue --retry'|'remote queue --compex') return 0 ;;
    'remote rebuild --address'|'remote rebuild --timeout'|'remote rebuild --auth'|'remote rebuild --index') return 0 ;;
    'remote remove --address'|'remote remove --timeout'|'remote remove --auth'|'remote remove --index') return 0 ;;
    'remote replicate --address'|'remote replicate --timeout'|'remote replicate --auth'|'remote replicate --index'|'remote replicate --ts_file'|'remote replicate --ts_skew'|'remote replicate --server_id'|'remote replicate --wait'|'remote replicate --items') return 0 ;;
    'remote search --address'|'remote search --timeout'|'remote search --auth'|'remote search --index'|'remote search --mode'|'remote search --items') return 0 ;;
    'remote set --address'|'remote set --timeout'|'remote set --auth'|'remote set --index'|'remote set --append'|'remote set --incr'|'remote set --ttl') return 0 ;;
    'remote sync --address'|'remote sync --timeout'|'remote sync --auth'|'remote sync --index') return 0 ;;
    'serve --address'|'serve --auth'|'serve --threads'|'serve --log_file'|'serve --log_level'|'serve --log_date'|'serve --log_td'|'serve --server_id'|'serve --pid_file'|'serve --shutdown_wait'|'serve --max_connections'|'serve --handshake_timeout'|'serve --ulog_prefix'|'serve --ulog_max_file_size'|'serve --repl_master'|'serve --repl_ts_file'|'serve --repl_ts_skew'|'serve --kt'|'serve --script'|'serve --script_timeout'|'serve --script_memory'|'serve --memcached'|'serve --memcached_index'|'serve --memcached_options'|'serve --memcached_queue_wait'|'serve --sweep_interval'|'serve --repl_wait'|'serve --idle_timeout') return 0 ;;
    'ulog listfiles --timestamp') return 0 ;;
    'ulog read --timestamp'|'ulog read --server_id'|'ulog read --dbm_index'|'ulog read --items') return 0 ;;
    'ulog removeoldfiles --timestamp') return 0 ;;
    'ulog writeclear --timestamp'|'ulog writeclear --max_file_size'|'ulog writeclear --server_id'|'ulog writeclear --dbm_index') return 0 ;;
    'ulog writeremove --timestamp'|'ulog writeremove --max_file_size'|'ulog writeremove --server_id'|'ulog writeremove --dbm_index') return 0 ;;
    'ulog writeset --timestamp'|'ulog writeset --max_file_size'|'ulog writeset --server_id'|'ulog writeset --dbm_index') return 0 ;;
    *) return 1 ;;
  esac
}

_kv_flag_values() {
  case "$1 $2" in
    'dbm create --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm create --params') echo '' ;;
    'dbm create --file') echo '' ;;
    'dbm create --alloc_init') echo '' ;;
    'dbm create --alloc_inc') echo '' ;;
    'dbm create --block_size') echo '' ;;
    'dbm create --buckets') echo '' ;;
    'dbm create --comparator') echo '' ;;
    'dbm create --record_crc') echo '-1 0 8 16 32' ;;
    'dbm create --record_comp') echo 'default none zlib zstd lz4 lzma' ;;
    'dbm create --offset_width') echo '3 4 5 6' ;;
    'dbm create --align_pow') echo '' ;;
    'dbm create --max_page_size') echo '' ;;
    'dbm create --max_branches') echo '' ;;
    'dbm create --max_cached_pages') echo '' ;;
    'dbm create --step_unit') echo '' ;;
    'dbm create --max_level') echo '' ;;
    'dbm create --sort_mem_size') echo '' ;;
    'dbm export --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm export --params') echo '' ;;
    'dbm export --file') echo '' ;;
    'dbm export --alloc_init') echo '' ;;
    'dbm export --alloc_inc') echo '' ;;
    'dbm export --block_size') echo '' ;;
    'dbm get --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm get --params') echo '' ;;
    'dbm get --file') echo '' ;;
    'dbm get --alloc_init') echo '' ;;
    'dbm get --alloc_inc') echo '' ;;
    'dbm get --block_size') echo '' ;;
    'dbm import --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm import --params') echo '' ;;
    'dbm import --file') echo '' ;;
    'dbm import --alloc_init') echo '' ;;
    'dbm import --alloc_inc') echo '' ;;
    'dbm import --block_size') echo '' ;;
    'dbm import --buckets') echo '' ;;
    'dbm import --comparator') echo '' ;;
    'dbm import --record_crc') echo '-1 0 8 16 32' ;;
    'dbm import --record_comp') echo 'default none zlib zstd lz4 lzma' ;;
    'dbm import --offset_width') echo '3 4 5 6' ;;
    'dbm import --align_pow') echo '' ;;
    'dbm import --max_page_size') echo '' ;;
    'dbm import --max_branches') echo '' ;;
    'dbm import --max_cached_pages') echo '' ;;
    'dbm import --step_unit') echo '' ;;
    'dbm import --max_level') echo '' ;;
    'dbm import --sort_mem_size') echo '' ;;
    'dbm import --ulog') echo '' ;;
    'dbm import --ulog_server_id') echo '' ;;
    'dbm import --ulog_dbm_index') echo '' ;;
    'dbm inspect --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm inspect --params') echo '' ;;
    'dbm inspect --file') echo '' ;;
    'dbm inspect --alloc_init') echo '' ;;
    'dbm inspect --alloc_inc') echo '' ;;
    'dbm inspect --block_size') echo '' ;;
    'dbm list --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm list --params') echo '' ;;
    'dbm list --file') echo '' ;;
    'dbm list --alloc_init') echo '' ;;
    'dbm list --alloc_inc') echo '' ;;
    'dbm list --block_size') echo '' ;;
    'dbm list --move') echo 'first jump jumplower jumplowerinc jumpupper jumpupperinc' ;;
    'dbm list --jump_key') echo '' ;;
    'dbm list --items') echo '' ;;
    'dbm merge --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm merge --params') echo '' ;;
    'dbm merge --file') echo '' ;;
    'dbm merge --alloc_init') echo '' ;;
    'dbm merge --alloc_inc') echo '' ;;
    'dbm merge --block_size') echo '' ;;
    'dbm merge --reducer') echo 'none first second last concat concatnull concattab concatline total totalbe remove' ;;
    'dbm perf parallel --buckets') echo '' ;;
    'dbm perf parallel --comparator') echo '' ;;
    'dbm perf parallel --record_crc') echo '-1 0 8 16 32' ;;
    'dbm perf parallel --record_comp') echo 'default none zlib zstd lz4 lzma' ;;
    'dbm perf parallel --offset_width') echo '3 4 5 6' ;;
    'dbm perf parallel --align_pow') echo '' ;;
    'dbm perf parallel --max_page_size') echo '' ;;
    'dbm perf parallel --max_branches') echo '' ;;
    'dbm perf parallel --max_cached_pages') echo '' ;;
    'dbm perf parallel --step_unit') echo '' ;;
    'dbm perf parallel --max_level') echo '' ;;
    'dbm perf parallel --sort_mem_size') echo '' ;;
    'dbm perf parallel --dbm') echo 'hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm perf parallel --iter') echo '' ;;
    'dbm perf parallel --size') echo '' ;;
    'dbm perf parallel --path') echo '<file>' ;;
    'dbm perf parallel --params') echo '' ;;
    'dbm perf parallel --random_seed') echo '' ;;
    'dbm perf parallel --file') echo '' ;;
    'dbm perf parallel --alloc_init') echo '' ;;
    'dbm perf parallel --alloc_inc') echo '' ;;
    'dbm perf parallel --block_size') echo '' ;;
    'dbm perf parallel --threads') echo '' ;;
    'dbm perf parallel --keys') echo '' ;;
    'dbm perf parallel --sleep') echo '' ;;
    'dbm perf rebuild --buckets') echo '' ;;
    'dbm perf rebuild --comparator') echo '' ;;
    'dbm perf rebuild --record_crc') echo '-1 0 8 16 32' ;;
    'dbm perf rebuild --record_comp') echo 'default none zlib zstd lz4 lzma' ;;
    'dbm perf rebuild --offset_width') echo '3 4 5 6' ;;
    'dbm perf rebuild --align_pow') echo '' ;;
    'dbm perf rebuild --max_page_size') echo '' ;;
    'dbm perf rebuild --max_branches') echo '' ;;
    'dbm perf rebuild --max_cached_pages') echo '' ;;
    'dbm perf rebuild --step_unit') echo '' ;;
    'dbm perf rebuild --max_level') echo '' ;;
    'dbm perf rebuild --sort_mem_size') echo '' ;;
    'dbm perf rebuild --dbm') echo 'hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm perf rebuild --iter') echo '' ;;
    'dbm perf rebuild --size') echo '' ;;
    'dbm perf rebuild --path') echo '<file>' ;;
    'dbm perf rebuild --params') echo '' ;;
    'dbm perf rebuild --random_seed') echo '' ;;
    'dbm perf rebuild --file') echo '' ;;
    'dbm perf rebuild --alloc_init') echo '' ;;
    'dbm perf rebuild --alloc_inc') echo '' ;;
    'dbm perf rebuild --block_size') echo '' ;;
    'dbm perf sequence --buckets') echo '' ;;
    'dbm perf sequence --comparator') echo '' ;;
    'dbm perf sequence --record_crc') echo '-1 0 8 16 32' ;;
    'dbm perf sequence --record_comp') echo 'default none zlib zstd lz4 lzma' ;;
    'dbm perf sequence --offset_width') echo '3 4 5 6' ;;
    'dbm perf sequence --align_pow') echo '' ;;
    'dbm perf sequence --max_page_size') echo '' ;;
    'dbm perf sequence --max_branches') echo '' ;;
    'dbm perf sequence --max_cached_pages') echo '' ;;
    'dbm perf sequence --step_unit') echo '' ;;
    'dbm perf sequence --max_level') echo '' ;;
    'dbm perf sequence --sort_mem_size') echo '' ;;
    'dbm perf sequence --dbm') echo 'hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm perf sequence --iter') echo '' ;;
    'dbm perf sequence --size') echo '' ;;
    'dbm perf sequence --path') echo '<file>' ;;
    'dbm perf sequence --params') echo '' ;;
    'dbm perf sequence --random_seed') echo '' ;;
    'dbm perf sequence --file') echo '' ;;
    'dbm perf sequence --alloc_init') echo '' ;;
    'dbm perf sequence --alloc_inc') echo '' ;;
    'dbm perf sequence --block_size') echo '' ;;
    'dbm perf sequence --copy') echo '<file>' ;;
    'dbm perf sequence --threads') echo '' ;;
    'dbm perf wicked --buckets') echo '' ;;
    'dbm perf wicked --comparator') echo '' ;;
    'dbm perf wicked --record_crc') echo '-1 0 8 16 32' ;;
    'dbm perf wicked --record_comp') echo 'default none zlib zstd lz4 lzma' ;;
    'dbm perf wicked --offset_width') echo '3 4 5 6' ;;
    'dbm perf wicked --align_pow') echo '' ;;
    'dbm perf wicked --max_page_size') echo '' ;;
    'dbm perf wicked --max_branches') echo '' ;;
    'dbm perf wicked --max_cached_pages') echo '' ;;
    'dbm perf wicked --step_unit') echo '' ;;
    'dbm perf wicked --max_level') echo '' ;;
    'dbm perf wicked --sort_mem_size') echo '' ;;
    'dbm perf wicked --dbm') echo 'hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm perf wicked --iter') echo '' ;;
    'dbm perf wicked --size') echo '' ;;
    'dbm perf wicked --path') echo '<file>' ;;
    'dbm perf wicked --params') echo '' ;;
    'dbm perf wicked --random_seed') echo '' ;;
    'dbm perf wicked --file') echo '' ;;
    'dbm perf wicked --alloc_init') echo '' ;;
    'dbm perf wicked --alloc_inc') echo '' ;;
    'dbm perf wicked --block_size') echo '' ;;
    'dbm rebuild --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm rebuild --params') echo '' ;;
    'dbm rebuild --file') echo '' ;;
    'dbm rebuild --alloc_init') echo '' ;;
    'dbm rebuild --alloc_inc') echo '' ;;
    'dbm rebuild --block_size') echo '' ;;
    'dbm rebuild --buckets') echo '' ;;
    'dbm rebuild --comparator') echo '' ;;
    'dbm rebuild --record_crc') echo '-1 0 8 16 32' ;;
    'dbm rebuild --record_comp') echo 'default none zlib zstd lz4 lzma' ;;
    'dbm rebuild --offset_width') echo '3 4 5 6' ;;
    'dbm rebuild --align_pow') echo '' ;;
    'dbm rebuild --max_page_size') echo '' ;;
    'dbm rebuild --max_branches') echo '' ;;
    'dbm rebuild --max_cached_pages') echo '' ;;
    'dbm rebuild --step_unit') echo '' ;;
    'dbm rebuild --max_level') echo '' ;;
    'dbm rebuild --sort_mem_size') echo '' ;;
    'dbm rebuild --rebuild_params') echo '' ;;
    'dbm rekey --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm rekey --params') echo '' ;;
    'dbm rekey --file') echo '' ;;
    'dbm rekey --alloc_init') echo '' ;;
    'dbm rekey --alloc_inc') echo '' ;;
    'dbm rekey --block_size') echo '' ;;
    'dbm remove --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm remove --params') echo '' ;;
    'dbm remove --file') echo '' ;;
    'dbm remove --alloc_init') echo '' ;;
    'dbm remove --alloc_inc') echo '' ;;
    'dbm remove --block_size') echo '' ;;
    'dbm restore --dbm') echo '' ;;
    'dbm restore --class') echo '' ;;
    'dbm restore --auto') echo 'none default default-ns sync sync-ns' ;;
    'dbm restore --end_offset') echo '' ;;
    'dbm set --dbm') echo 'auto hash tree skip tiny baby cache stdhash stdtree' ;;
    'dbm set --params') echo '' ;;
    'dbm set --file') echo '' ;;
    'dbm set --alloc_init') echo '' ;;
    'dbm set --alloc_inc') echo '' ;;
    'dbm set --block_size') echo '' ;;
    'dbm set --append') echo '' ;;
    'dbm set --incr') echo '' ;;
    'dbm set --reducer') echo 'none first second last concat concatnull concattab concatline total totalbe remove' ;;
    'dbm set --ttl') echo '' ;;
    'perf memcached --address') echo '' ;;
    'perf memcached --iter') echo '' ;;
    'perf memcached --size') echo '' ;;
    'perf memcached --threads') echo '' ;;
    'perf memcached --pipeline') echo '' ;;
    'perf memcached --random_seed') echo '' ;;
    'perf parallel --address') echo '' ;;
    'perf parallel --timeout') echo '' ;;
    'perf parallel --auth') echo '' ;;
    'perf parallel --index') echo '' ;;
    'perf parallel --iter') echo '' ;;
    'perf parallel --size') echo '' ;;
    'perf parallel --threads') echo '' ;;
    'perf parallel --random_seed') echo '' ;;
    'perf parallel --worker_threads') echo '' ;;
    'perf queue --address') echo '' ;;
    'perf queue --timeout') echo '' ;;
    'perf queue --auth') echo '' ;;
    'perf queue --index') echo '' ;;
    'perf queue --iter') echo '' ;;
    'perf queue --size') echo '' ;;
    'perf queue --threads') echo '' ;;
    'perf queue --random_seed') echo '' ;;
    'perf queue --retry') echo '' ;;
    'perf sequence --address') echo '' ;;
    'perf sequence --timeout') echo '' ;;
    'perf sequence --auth') echo '' ;;
    'perf sequence --index') echo '' ;;
    'perf sequence --iter') echo '' ;;
    'perf sequence --size') echo '' ;;
    'perf sequence --threads') echo '' ;;
    'perf sequence --random_seed') echo '' ;;
    'perf sequence --worker_threads') echo '' ;;
    'perf sequence --multi') echo '' ;;
    'perf wicked --address') echo '' ;;
    'perf wicked --timeout') echo '' ;;
    'perf wicked --auth') echo '' ;;
    'perf wicked --index') echo '' ;;
    'perf wicked --iter') echo '' ;;
    'perf wicked --size') echo '' ;;
    'perf wicked --threads') echo '' ;;
    'perf wicked --random_seed') echo '' ;;
    'remote changemaster --address') echo '' ;;
    'remote changemaster --timeout') echo '' ;;
    'remote changemaster --auth') echo '' ;;
    'remote changemaster --index') echo '' ;;
    'remote changemaster --ts_skew') echo '' ;;
    'remote clear --address') echo '' ;;
    'remote clear --timeout') echo '' ;;
    'remote clear --auth') echo '' ;;
    'remote clear --index') echo '' ;;
    'remote echo --address') echo '' ;;
    'remote echo --timeout') echo '' ;;
    'remote echo --auth') echo '' ;;
    'remote echo --index') echo '' ;;
    'remote get --address') echo '' ;;
    'remote get --timeout') echo '' ;;
    'remote get --auth') echo '' ;;
    'remote get --index') echo '' ;;
    'remote inspect --address') echo '' ;;
    'remote inspect --timeout') echo '' ;;
    'remote inspect --auth') echo '' ;;
    'remote inspect --index') echo '' ;;
    'remote list --address') echo '' ;;
    'remote list --timeout') echo '' ;;
    'remote list --auth') echo '' ;;
    'remote list --index') echo '' ;;
    'remote list --move') echo 'first jump jumplower jumplowerinc jumpupper jumpupperinc' ;;
    'remote list --jump_key') echo '' ;;
    'remote list --items') echo '' ;;
    'remote queue --address') echo '' ;;
    'remote queue --timeout') echo '' ;;
    'remote queue --auth') echo '' ;;
    'remote queue --index') echo '' ;;
    'remote queue --retry') echo '' ;;
    'remote queue --compex') echo '' ;;
    'remote rebuild --address') echo '' ;;
    'remote rebuild --timeout') echo '' ;;
    'remote rebuild --auth') echo '' ;;
    'remote rebuild --index') echo '' ;;
    'remote remove --address') echo '' ;;
    'remote remove --timeout') echo '' ;;
    'remote remove --auth') echo '' ;;
    'remote remove --index') echo '' ;;
    'remote replicate --address') echo '' ;;
    'remote replicate --timeout') echo '' ;;
    'remote replicate --auth') echo '' ;;
    'remote replicate --index') echo '' ;;
    'remote replicate --ts_file') echo '' ;;
    'remote replicate --ts_skew') echo '' ;;
    'remote replicate --server_id') echo '' ;;
    'remote replicate --wait') echo '' ;;
    'remote replicate --items') echo '' ;;
    'remote search --address') echo '' ;;
    'remote search --timeout') echo '' ;;
    'remote search --auth') echo '' ;;
    'remote search --index') echo '' ;;
    'remote search --mode') echo 'contain contain* containcase containcase* containword containword* containcaseword containcaseword* begin end regex edit editbin upper upperinc lower lowerinc' ;;
    'remote search --items') echo '' ;;
    'remote set --address') echo '' ;;
    'remote set --timeout') echo '' ;;
    'remote set --auth') echo '' ;;
    'remote set --index') echo '' ;;
    'remote set --append') echo '' ;;
    'remote set --incr') echo '' ;;
    'remote set --ttl') echo '' ;;
    'remote sync --address') echo '' ;;
    'remote sync --timeout') echo '' ;;
    'remote sync --auth') echo '' ;;
    'remote sync --index') echo '' ;;
    'serve --address') echo '' ;;
    'serve --auth') echo '' ;;
    'serve --threads') echo '' ;;
    'serve --log_file') echo '<file>' ;;
    'serve --log_level') echo 'debug info warn error fatal' ;;
    'serve --log_date') echo 'simple simple_micro w3cdtf w3cdtf_micro rfc1123 epoch epoch_micro' ;;
    'serve --log_td') echo '' ;;
    'serve --server_id') echo '' ;;
    'serve --pid_file') echo '<file>' ;;
    'serve --shutdown_wait') echo '' ;;
    'serve --max_connections') echo '' ;;
    'serve --handshake_timeout') echo '' ;;
    'serve --ulog_prefix') echo '' ;;
    'serve --ulog_max_file_size') echo '' ;;
    'serve --repl_master') echo '' ;;
    'serve --repl_ts_file') echo '' ;;
    'serve --repl_ts_skew') echo '' ;;
    'serve --kt') echo '' ;;
    'serve --script') echo '' ;;
    'serve --script_timeout') echo '' ;;
    'serve --script_memory') echo '' ;;
    'serve --memcached') echo '' ;;
    'serve --memcached_index') echo '' ;;
    'serve --memcached_options') echo '' ;;
    'serve --memcached_queue_wait') echo '' ;;
    'serve --sweep_interval') echo '' ;;
    'serve --repl_wait') echo '' ;;
    'serve --idle_timeout') echo '' ;;
    'ulog listfiles --timestamp') echo '' ;;
    'ulog read --timestamp') echo '' ;;
    'ulog read --server_id') echo '' ;;
    'ulog read --dbm_index') echo '' ;;
    'ulog read --items') echo '' ;;
    'ulog removeoldfiles --timestamp') echo '' ;;
    'ulog writeclear --timestamp') echo '' ;;
    'ulog writeclear --max_file_size') echo '' ;;
    'ulog writeclear --server_id') echo '' ;;
    'ulog writeclear --dbm_index') echo '' ;;
    'ulog writeremove --timestamp') echo '' ;;
    'ulog writeremove --max_file_size') echo '' ;;
    'ulog writeremove --server_id') echo '' ;;
    'ulog writeremove --dbm_index') echo '' ;;
    'ulog writeset --timestamp') echo '' ;;
    'ulog writeset --max_file_size') echo '' ;;
    'ulog writeset --server_id') echo '' ;;
    'ulog writeset --dbm_index') echo '' ;;
    *) echo '' ;;
  esac
}

_kv_complete() {
  # File names may hold spaces: split completions on line breaks only.
  local IFS=$'\n'
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
  local words=("${COMP_WORDS[@]:1:COMP_CWORD-1}") command="" typed="" candidate
  # The command is the longest list of leading words that names one.
  local i
  for ((i = 0; i < ${#words[@]}; i++)); do
    [[ "${words[i]}" == -* ]] && break
    typed="${typed:+$typed }${words[i]}"
    for candidate in "${_kv_commands[@]}"; do [[ "$candidate" == "$typed" ]] && command="$typed"; done
  done
  if [[ -z "$command" ]]; then
    # Still choosing the command: the next words of those that start as typed.
    local next=()
    for candidate in "${_kv_commands[@]}"; do
      if [[ -z "$typed" ]]; then next+=("${candidate%% *}")
      elif [[ "$candidate" == "$typed "* ]]; then local rest="${candidate#"$typed "}"; next+=("${rest%% *}"); fi
    done
    COMPREPLY=($(compgen -W "$(printf "%s\n" ${next[@]+"${next[@]}"} | sort -u)" -- "$cur"))
    return
  fi
  if [[ "$prev" == --* ]]; then
    local values
    values="$(_kv_flag_values "$command" "$prev")"
    if [[ "$values" == "<file>" ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
    if [[ -n "$values" ]]; then COMPREPLY=($(compgen -W "${values// /$'\n'}" -- "$cur")); return; fi
    # A flag that takes free text: nothing to offer.
    if _kv_takes_value "$command" "$prev"; then return; fi
  fi
  if [[ "$cur" == -* ]]; then
    local flags
    flags="$(_kv_flags "$command")"
    COMPREPLY=($(compgen -W "${flags// /$'\n'}" -- "$cur"))
    return
  fi
  # An argument: database files and record files.
  COMPREPLY=($(compgen -f -- "$cur"))
}

complete -o filenames -F _kv_complete kv
