/* Entry point of the kernel firmware (see firmware.h): dispatches on the semihosting command
 * line, `check` or `bench FILE`. Exit status: 0 success, 1 mismatch or failure, 2 bad command. */

#include "console.h"
#include "firmware.h"
#include "semihost.h"

/* WORK_SECTION is the arena input section of the profile's largest arena region, e.g.
 * ".bss.arena_sram1" (see boards/common/cortexm.ld.template). */
int8_t work_memory[WORK_BYTES] __attribute__((section(WORK_SECTION), aligned(16)));

#define MAX_WORDS 4

/* Splits the command line in place at spaces; returns the number of words. */
static int split_words(char *line, char *words[], int max_words)
{
    int count = 0;
    while (*line != '\0' && count < max_words) {
        while (*line == ' ') *line++ = '\0';
        if (*line == '\0') break;
        words[count++] = line;
        while (*line != '\0' && *line != ' ') line++;
    }
    return count;
}

int main(void)
{
    static char line[256];
    char *words[MAX_WORDS];
    const int count = (semihost_get_cmdline(line, sizeof line) < 0)
                          ? 0
                          : split_words(line, words, MAX_WORDS);

    /* words[0] is the image name. */
    if (count == 2 && semihost_word_is(words[1], "check")) {
        const uint32_t failures = check_kernels();
        console_write(failures == 0 ? "kernel check: PASS\n" : "kernel check: FAIL\n");
        return failures == 0 ? 0 : 1;
    }
    if (count == 3 && semihost_word_is(words[1], "bench")) {
        return bench_kernels(words[2]) == 0 ? 0 : 1;
    }
    console_write("usage: check | bench FILE\n");
    return 2;
}
