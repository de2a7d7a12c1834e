#!/usr/bin/env bash
# Board-layer self-test.
#   1. Checks every profile in boards/profiles/ against the schema in boards/README.md.
#   2. Builds tests/selftest.c for every board with its flags and a linker script rendered from
#      common/cortexm.ld.template (-Wall -Wextra -Werror -O2), and prints the section sizes.
#   3. Runs the firmware of every board whose simulator is QEMU: the full check (console,
#      semihosting file copy, ticks per instruction, stack high-water, arena placement), an
#      exit status passed through SYS_EXIT_EXTENDED, and a deliberate fault.
#   4. Checks that an arena one byte larger than its region fails to link.
# Prints one summary line; exits non-zero on any failure.
# Needs: gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm, jq (Debian packages).
set -euo pipefail

boards_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

declare -A package_of=(
  [arm-none-eabi-gcc]=gcc-arm-none-eabi [arm-none-eabi-size]=binutils-arm-none-eabi
  [arm-none-eabi-nm]=binutils-arm-none-eabi [qemu-system-arm]=qemu-system-arm [jq]=jq)
for tool in "${!package_of[@]}"; do
  if ! command -v "$tool" >/dev/null; then
    echo "boards selftest: FAIL: $tool not found (Debian package ${package_of[$tool]})" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failures=()
fail() {
  echo "FAIL: $*" >&2
  failures+=("$*")
}

# The exact key set of a profile; boards/README.md documents each key.
profile_keys='["name","description","mcu","cpu","compile_flags","clock_hz","hse","flash","ram",
  "external","layout","console","platform","simulator","simulates","notes"]'

# Prints one line per problem found in a profile (nothing when it is valid).
profile_problems() {
  jq -r --argjson keys "$profile_keys" --arg stem "$(basename "$1" .json)" '
    def number: ltrimstr("0x") | ascii_downcase | explode
      | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));
    def is_address: type == "string" and test("^0x[0-9A-Fa-f]{8}$");
    (if (keys | sort) != ($keys | sort) then "keys are \(keys), expected \($keys | sort)" else empty end),
    (if .name != $stem then "name \(.name) differs from the file name" else empty end),
    (if (.cpu | IN("cortex-m7", "cortex-m4")) | not then "cpu \(.cpu) is not cortex-m7 or cortex-m4" else empty end),
    (if (.clock_hz | type) != "number" then "clock_hz is not a number" else empty end),
    ((.flash, .ram[], .external[]) | select((.origin | is_address | not) or (.size | type) != "number")
      | "region \(.name): origin must be a 0x-prefixed 32-bit address and size a number of bytes"),
    ([.ram[] | {name, start: (.origin | number), end: ((.origin | number) + .size)}] as $r
      | range(1; $r | length) as $i | select($r[$i].start < $r[$i - 1].end)
      | "ram regions \($r[$i - 1].name) and \($r[$i].name) overlap or are out of address order"),
    ([.ram[].name] as $names | .layout | (.data_region, .stack_region, .arena_regions[]?)
      | select(IN($names[]) | not) | "layout names \(.), which is not a ram region"),
    (.layout.arena_regions | select(type != "array" or length == 0) | "layout.arena_regions must list at least one ram region"),
    (.layout.stack_size | select(type != "number" or . % 8 != 0) | "layout.stack_size must be a multiple of 8"),
    (.layout.data_reserve | select(type != "number" or . < 0) | "layout.data_reserve must be a number of bytes"),
    (.notes | select(type != "string") | "notes must be a string"),
    (.console | select((.base | is_address | not) or (.baud | type) != "number")
      | "console needs a base address and a baud rate"),
    (.simulator | select(. != null and (.kind | IN("qemu", "renode") | not)) | "simulator.kind must be qemu or renode"),
    (.external[] | select(.kind | IN("flash", "ram") | not) | "external \(.name): kind must be flash or ram")
  ' "$1"
}

# Compiler defines derived from a profile (the mapping is documented in boards/README.md).
profile_defines() {
  jq -r '
    "-DBOARD_CLOCK_HZ=\(.clock_hz)",
    "-DCONSOLE_BASE=\(.console.base)",
    "-DCONSOLE_BAUD=\(.console.baud)",
    (.console.tx // empty | "-DCONSOLE_TX_PORT=\(.[1:2])", "-DCONSOLE_TX_PIN=\(.[2:])"),
    (.console.rx // empty | "-DCONSOLE_RX_PORT=\(.[1:2])", "-DCONSOLE_RX_PIN=\(.[2:])"),
    (.console.af // empty | "-DCONSOLE_PIN_AF=\(.)"),
    (.hse // empty | "-DHSE_HZ=\(.hz)", "-DHSE_BYPASS=\(if .bypass then 1 else 0 end)")
  ' "$1"
}

# The largest of a profile's arena regions: where the self-test's buffer goes.
test_arena_region() {
  jq -r '.layout.arena_regions as $a | [.ram[] | select(.name | IN($a[]))] | max_by(.size) | .name' "$1"
}

# Renders the linker template for a profile with sed, the way the C# side renders it with Fluid
# (with an arena section for every arena region of the profile, and no external flash).
render_linker_script() {
  local profile="$1" output="$2"
  local block="$output.ram_regions" arenas="$output.arena_sections"
  jq -r '.ram[] | "  \(.name) (rwx) : ORIGIN = \(.origin), LENGTH = \(.size)"' "$profile" >"$block"
  jq -r '.layout.arena_regions[] | "  .arena_\(ascii_downcase) (NOLOAD) : ALIGN(16) { *(.bss.arena_\(ascii_downcase) .bss.arena_\(ascii_downcase).streamed) } > \(.)"' \
    "$profile" >"$arenas"
  local flash_region flash_origin flash_size data_region stack_region stack_size
  read -r flash_region flash_origin flash_size data_region stack_region stack_size < <(
    jq -r '[.flash.name, .flash.origin, .flash.size, .layout.data_region, .layout.stack_region,
            .layout.stack_size] | @tsv' "$profile")
  sed -e "s/{{ flash_region }}/$flash_region/g" \
      -e "s/{{ flash_origin }}/$flash_origin/g" \
      -e "s/{{ flash_size }}/$flash_size/g" \
      -e "s/{{ data_region }}/$data_region/g" \
      -e "s/{{ stack_region }}/$stack_region/g" \
      -e "s/{{ stack_size }}/$stack_size/g" \
      -e "/{{ ram_regions }}/{r $block" -e "d}" \
      -e "/{{ arena_sections }}/{r $arenas" -e "d}" \
      -e "/{{ external_memory }}/d" -e "/{{ weight_sections }}/d" \
      "$boards_dir/common/cortexm.ld.template" >"$output"
  if grep -q '{{' "$output"; then
    fail "$(basename "$profile" .json): placeholders left unrendered in the linker script"
  fi
}

# build PROFILE OUTPUT_DIR [EXTRA_CFLAGS...]: compiles and links the self-test for a board.
build_selftest() {
  local profile="$1" output_dir="$2"
  shift 2
  local platform
  platform="$(jq -r .platform "$profile")"
  local cpu_flags defines
  readarray -t cpu_flags < <(jq -r '.compile_flags[]' "$profile")
  readarray -t defines < <(profile_defines "$profile")
  mkdir -p "$output_dir"
  render_linker_script "$profile" "$output_dir/fw.ld"
  local arena_section
  arena_section=".bss.arena_$(test_arena_region "$profile" | tr '[:upper:]' '[:lower:]')"
  arm-none-eabi-gcc -std=c99 -Wall -Wextra -Werror -O2 -g -ffunction-sections -fdata-sections \
    "${cpu_flags[@]}" "${defines[@]}" -DSELFTEST_ARENA_SECTION="\"$arena_section\"" "$@" -I"$boards_dir/common" \
    "$boards_dir"/common/*.c "$boards_dir/platforms/$platform.c" "$boards_dir/tests/selftest.c" \
    -nostartfiles --specs=nano.specs -Wl,--gc-sections -T "$output_dir/fw.ld" \
    -o "$output_dir/fw.elf" >"$output_dir/build.log" 2>&1
}

# The address of a symbol in an ELF file, as a number; -1 when the symbol is missing.
symbol_address() {
  local hex
  hex="$(arm-none-eabi-nm "$1" | awk -v name="$2" '$3 == name { print $1 }')"
  if [[ -n "$hex" ]]; then echo $((16#$hex)); else echo -1; fi
}

# Checks that a symbol lies inside a named RAM region of a profile.
check_symbol_in_region() {
  local profile="$1" elf="$2" symbol="$3" region="$4"
  local address start size
  address="$(symbol_address "$elf" "$symbol")"
  read -r start size < <(jq -r --arg r "$region" '.ram[] | select(.name == $r) | "\(.origin) \(.size)"' "$profile")
  if ((address < start || address >= start + size)); then
    fail "$(basename "$profile" .json): $symbol at $(printf '0x%08x' "$address") is outside $region"
  fi
}

# runs a firmware under QEMU in the work directory; sets qemu_status and leaves the console in
# $run_dir/console.log and semihosting output in $run_dir/semihost.log.
run_qemu() {
  local machine="$1" elf="$2" run_dir="$3" arguments="$4"
  qemu_status=0
  (cd "$run_dir" && timeout 20 qemu-system-arm -M "$machine" -nographic \
    -semihosting-config enable=on,target=native -icount shift=10 -kernel "$elf" \
    -append "$arguments" </dev/null >console.log 2>semihost.log) || qemu_status=$?
}

# The value of key=value in the firmware's timing line; empty when the line is missing.
timing_value() {
  { grep -o "$2=[0-9]*" "$1" || true; } | head -n 1 | cut -d= -f2
}

ticks_relation=""
run_qemu_checks() {
  local profile="$1" elf="$2" name machine
  name="$(basename "$profile" .json)"
  machine="$(jq -r .simulator.machine "$profile")"
  local run_dir="$work/$name/run"
  mkdir -p "$run_dir"

  # Every byte value, a few times over, so the +1 transform wraps 255 to 0.
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    printf "$(printf '\\%03o' $(seq 0 255))"
  done >"$run_dir/input.bin"
  tr '\000-\377' '\001-\377\000' <"$run_dir/input.bin" >"$run_dir/expected.bin"

  run_qemu "$machine" "$elf" "$run_dir" "check input.bin output.bin"
  sed "s/^/  $name | /" "$run_dir/console.log" "$run_dir/semihost.log"
  if ((qemu_status != 0)) || ! grep -qx 'selftest: PASS' "$run_dir/console.log"; then
    fail "$name: check run exited $qemu_status without 'selftest: PASS'"
  fi
  if ! grep -qx 'selftest: semihosting write0 and writec ok' "$run_dir/semihost.log"; then
    fail "$name: no semihosting write0/writec output"
  fi
  if ! cmp -s "$run_dir/expected.bin" "$run_dir/output.bin"; then
    fail "$name: output.bin is not input.bin with 1 added to every byte"
  fi

  # -icount shift=10: 1024 ns of virtual time per instruction; SysTick counts at 25 MHz (40 ns),
  # so each instruction is 25.6 ticks and a whole number of instructions is a multiple of
  # 128 ticks (5 instructions). The loop difference may include a few SysTick interrupts.
  local instructions ticks per_thousand
  instructions="$(timing_value "$run_dir/console.log" delta_instructions)"
  ticks="$(timing_value "$run_dir/console.log" delta_ticks)"
  per_thousand="$(timing_value "$run_dir/console.log" ticks_per_1000_instructions)"
  if [[ -z "$ticks" || -z "$instructions" ]]; then
    fail "$name: no timing line"
  else
    local extra=$((ticks * 10 / 256 - instructions))
    if ((per_thousand != 25600 || ticks % 128 != 0 || extra < 0 || extra > 100)); then
      fail "$name: $ticks ticks for $instructions instructions is not 25.6 ticks per instruction"
    fi
    ticks_relation="$ticks ticks / $instructions loop instructions (+$extra interrupt instructions) = 25.6 ticks per instruction"
  fi

  check_symbol_in_region "$profile" "$elf" selftest_arena "$(test_arena_region "$profile")"
  check_symbol_in_region "$profile" "$elf" _sstack "$(jq -r .layout.stack_region "$profile")"
  check_symbol_in_region "$profile" "$elf" data_word "$(jq -r .layout.data_region "$profile")"

  run_qemu "$machine" "$elf" "$run_dir" "exit 7"
  if ((qemu_status != 7)); then
    fail "$name: 'exit 7' made QEMU exit $qemu_status"
  fi
  echo "  $name | exit 7 -> QEMU exit status $qemu_status"

  run_qemu "$machine" "$elf" "$run_dir" "fault"
  if ((qemu_status != 3)) || ! grep -q '^fault: exception 3 ' "$run_dir/console.log"; then
    fail "$name: deliberate fault made QEMU exit $qemu_status without a HardFault report"
  fi
  echo "  $name | fault -> QEMU exit status $qemu_status: $(grep '^fault:' "$run_dir/console.log")"
}

# An arena one byte larger than its region must be a link error, not a silent overflow.
check_overflow_fails() {
  local profile="$1" name arena_size
  name="$(basename "$profile" .json)"
  arena_size="$(jq -r --arg r "$(test_arena_region "$profile")" '.ram[] | select(.name == $r) | .size + 1' "$profile")"
  if build_selftest "$profile" "$work/$name/overflow" -DSELFTEST_ARENA_BYTES="$arena_size"; then
    fail "$name: a $arena_size-byte arena linked although its region is one byte smaller"
  elif ! grep -q "region \`$(test_arena_region "$profile")' overflowed by 1 byte" \
      "$work/$name/overflow/build.log"; then
    fail "$name: oversized arena failed to link, but not with a region overflow"
    cat "$work/$name/overflow/build.log" >&2
  fi
}

built=0
simulated=()
for profile in "$boards_dir"/profiles/*.json; do
  name="$(basename "$profile" .json)"
  problems="$(profile_problems "$profile")"
  if [[ -n "$problems" ]]; then
    while IFS= read -r problem; do fail "$name: $problem"; done <<<"$problems"
    continue
  fi
  if ! build_selftest "$profile" "$work/$name"; then
    fail "$name: build failed"
    cat "$work/$name/build.log" >&2
    continue
  fi
  built=$((built + 1))
  if ! "$boards_dir/../scripts/check-ge-flags" "$work/$name/fw.elf" >"$work/$name/ge-flags.log"; then
    fail "$name: an instruction reads the APSR.GE flags, which Renode 1.15 sets wrongly"
  fi
  sed "s|^$work/||" "$work/$name/ge-flags.log"
  arm-none-eabi-size -A "$work/$name/fw.elf" | awk -v name="$name" '
    $1 ~ /^\.(isr_vector|text|rodata|data|bss|stack|arena_[a-z0-9_]+)$/ { sizes = sizes " " $1 "=" $2 }
    END { printf "%-17s%s\n", name, sizes }'
  if [[ "$(jq -r '.simulator.kind // ""' "$profile")" == qemu ]]; then
    run_qemu_checks "$profile" "$work/$name/fw.elf"
    check_overflow_fails "$profile"
    simulated+=("$name")
  fi
done

total="$(find "$boards_dir/profiles" -name '*.json' | wc -l)"
if ((${#failures[@]} > 0)); then
  echo "boards selftest: FAIL (${#failures[@]} problems; first: ${failures[0]})"
  exit 1
fi
if ((${#simulated[@]} == 0)); then
  echo "boards selftest: FAIL (no profile has a qemu simulator)"
  exit 1
fi
echo "boards selftest: PASS ($built/$total boards built; QEMU ${simulated[*]}: check, exit 7, fault and arena overflow ok; $ticks_relation)"
