#!/usr/bin/env bash
# Bit-exactness of the kernels' DSP paths, in QEMU.
#   1. Builds the kernel firmware (runtime-c/bench/firmware.h) for the mps2-an500 profile, the
#      way boards/tests/run-qemu-selftest.sh builds the board self-test: the profile's compile
#      flags and defines, boards/common and the platform file, and a linker script rendered from
#      boards/common/cortexm.ld.template. runtime-c/src goes in twice: as built for the core
#      (Cortex-M7: DSP paths) and with -DMCU_FORCE_PORTABLE, renamed by portable_names.h.
#   2. Runs `check` in qemu-system-arm: every kernel on randomized shapes and parameters through
#      both builds, outputs compared byte for byte.
# Usage: run-qemu-check.sh [--keep DIR]   (--keep: build in DIR and leave the firmware there)
# Prints one summary line; exits non-zero on any failure.
# Needs: gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm, jq (Debian packages).
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runtime_dir="$(dirname "$bench_dir")"
boards_dir="$(cd "$runtime_dir/../boards" && pwd)"
profile="$boards_dir/profiles/mps2-an500.json"

declare -A package_of=(
  [arm-none-eabi-gcc]=gcc-arm-none-eabi [qemu-system-arm]=qemu-system-arm [jq]=jq)
for tool in "${!package_of[@]}"; do
  if ! command -v "$tool" >/dev/null; then
    echo "kernel check: FAIL: $tool not found (Debian package ${package_of[$tool]})" >&2
    exit 1
  fi
done

if [[ "${1:-}" == --keep && -n "${2:-}" ]]; then
  work="$(mkdir -p "$2" && cd "$2" && pwd)"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi

# The profile's defines and linker script, as in boards/tests/run-qemu-selftest.sh.
readarray -t cpu_flags < <(jq -r '.compile_flags[]' "$profile")
readarray -t defines < <(jq -r '
  "-DBOARD_CLOCK_HZ=\(.clock_hz)", "-DCONSOLE_BASE=\(.console.base)", "-DCONSOLE_BAUD=\(.console.baud)"' \
  "$profile")
jq -r '.ram[] | "  \(.name) (rwx) : ORIGIN = \(.origin), LENGTH = \(.size)"' "$profile" >"$work/ram_regions"
jq -r '.layout.arena_regions[] | "  .arena_\(ascii_downcase) (NOLOAD) : ALIGN(16) { *(.bss.arena_\(ascii_downcase)) } > \(.)"' \
  "$profile" >"$work/arena_sections"
read -r flash_region flash_origin flash_size data_region stack_region stack_size < <(
  jq -r '[.flash.name, .flash.origin, .flash.size, .layout.data_region, .layout.stack_region,
          .layout.stack_size] | @tsv' "$profile")
# The work memory goes in the largest arena region.
work_section=".bss.arena_$(jq -r '.layout.arena_regions as $a | [.ram[] | select(.name | IN($a[]))] | max_by(.size) | .name
  | ascii_downcase' "$profile")"
sed -e "s/{{ flash_region }}/$flash_region/g" -e "s/{{ flash_origin }}/$flash_origin/g" \
    -e "s/{{ flash_size }}/$flash_size/g" -e "s/{{ data_region }}/$data_region/g" \
    -e "s/{{ stack_region }}/$stack_region/g" -e "s/{{ stack_size }}/$stack_size/g" \
    -e "/{{ ram_regions }}/{r $work/ram_regions" -e "d}" \
    -e "/{{ arena_sections }}/{r $work/arena_sections" -e "d}" \
    -e "/{{ external_memory }}/d" -e "/{{ weight_sections }}/d" \
    "$boards_dir/common/cortexm.ld.template" >"$work/fw.ld"
platform="$(jq -r .platform "$profile")"

cflags=(-std=c99 -Wall -Wextra -Werror -O2 -g -ffunction-sections -fdata-sections "${cpu_flags[@]}")
mkdir -p "$work/portable"
if ! (cd "$work/portable" && arm-none-eabi-gcc "${cflags[@]}" -DMCU_FORCE_PORTABLE \
        -include "$bench_dir/portable_names.h" -I"$runtime_dir/include" -c "$runtime_dir"/src/*.c) \
        >"$work/build.log" 2>&1 ||
   ! arm-none-eabi-gcc "${cflags[@]}" "${defines[@]}" -DWORK_SECTION="\"$work_section\"" -I"$boards_dir/common" -I"$runtime_dir/include" \
        "$boards_dir"/common/*.c "$boards_dir/platforms/$platform.c" "$runtime_dir"/src/*.c \
        "$bench_dir"/*.c "$work"/portable/*.o \
        -nostartfiles --specs=nano.specs -Wl,--gc-sections -T "$work/fw.ld" -o "$work/fw.elf" \
        >>"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  echo "kernel check: FAIL (the firmware does not build)"
  exit 1
fi

# The same image is the one bench-kernels runs: no instruction of it may read the APSR.GE flags.
if ! "$runtime_dir/../scripts/check-ge-flags" "$work/fw.elf"; then
  echo "kernel check: FAIL (an instruction reads the APSR.GE flags, which Renode 1.15 sets wrongly)"
  exit 1
fi

status=0
(cd "$work" && timeout 300 qemu-system-arm -M "$(jq -r .simulator.machine "$profile")" -nographic \
  -monitor none -semihosting-config enable=on,target=native -kernel fw.elf -append check \
  </dev/null >console.log 2>semihost.log) || status=$?
sed 's/^/  /' "$work/console.log"
if ((status != 0)) || ! grep -qx 'kernel check: PASS' "$work/console.log"; then
  cat "$work/semihost.log" >&2
  echo "kernel check: FAIL (QEMU exit status $status)"
  exit 1
fi
echo "kernel check: PASS (DSP and portable builds bit-exact on every kernel, QEMU mps2-an500)"
