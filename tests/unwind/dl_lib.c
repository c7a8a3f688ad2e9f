/* Two builds of this file (RCU_VARIANT 0 and 1) have the same layout, so
 * dlopen puts the second where the first was, and rcu_dl_entry's call
 * returns to the same address, but with different frames: variant 0 keeps
 * an rbp frame (CFA = rbp + 16), variant 1 only moves rsp (CFA = rsp + 96).
 * A rule cached for the first and used for the second unwinds wrongly. */
#if RCU_VARIANT == 0
__asm__(".text\n"
        ".globl rcu_dl_entry\n"
        ".type rcu_dl_entry, @function\n"
        "rcu_dl_entry:\n"
        ".cfi_startproc\n"
        "  pushq %rbp\n"                 /* 1 byte */
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "  movq %rsp, %rbp\n"            /* 3 bytes */
        ".cfi_def_cfa_register %rbp\n"
        "  subq $48, %rsp\n"             /* 4 bytes */
        "  call *%rdi\n"                 /* 2 bytes: returns to offset 10 */
        "  leave\n"
        ".cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        "  nop\n"
        ".cfi_endproc\n"
        ".size rcu_dl_entry, .-rcu_dl_entry\n");
#else
__asm__(".text\n"
        ".globl rcu_dl_entry\n"
        ".type rcu_dl_entry, @function\n"
        "rcu_dl_entry:\n"
        ".cfi_startproc\n"
        "  subq $88, %rsp\n"             /* 4 bytes */
        ".cfi_def_cfa_offset 96\n"
        "  nop; nop; nop; nop\n"         /* 4 bytes */
        "  call *%rdi\n"                 /* 2 bytes: returns to offset 10 */
        "  addq $88, %rsp\n"             /* 4 bytes */
        ".cfi_def_cfa_offset 8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size rcu_dl_entry, .-rcu_dl_entry\n");
#endif
