# cmdwords.awk — the programs a set of shell scripts runs, found by reading them, not running
# them. Used by scripts/check-deps.sh; prints one "FILE<TAB>LINE<TAB>PROGRAM" a program run.
#
#   awk -v builtins="cd echo ..." -f scripts/cmdwords.awk FILE...
#
# A file is read as a whole and tokenized as bash does: quotes, escapes, $(...), `...`, <(...),
# ${...}, $((...)), here-documents (their $(...) too), comments, line continuations, [[ ]],
# (( )), case patterns, array literals and function definitions. Each simple command then has
# its command word found: assignments, redirections and keywords are skipped, builtins and
# the scripts' own functions are not programs, and wrappers are looked through — programs
# (setsid, timeout, env, runuser, nohup, nice, stdbuf, xargs, sudo, find -exec, bash -c CODE)
# and the builtins exec, command, eval and trap. A function that runs "$@" after shifting N
# arguments (e2e_wait_for SECS CMD...) is a wrapper too: its arguments after the N-th are a
# command. A command word that is an expansion is a path computed at run time ("$BUILD/x",
# a project file) and is not reported, except "${ARR[@]}" of an array assigned a literal
# program (CURL=(curl ...)).
#
# Other files: a Makefile's recipes and $(shell ...) (make's $(MAKE), $(CC), $(AR) as make,
# cc, ar); a Dockerfile's HEALTHCHECK CMD (the e2e tests run it on the host); C files: the
# shell command given to system() or popen() (a literal, or the literal snprintf'd into the
# buffer passed), and the program of execlp/execvp/posix_spawnp.

BEGIN {
    n = split(builtins, b, " ")
    for (i = 1; i <= n; i++) BUILTIN[b[i]] = 1
    n = split("if then elif else fi do done while until for select case esac in function time ! { } [[ ]] (( coproc", b, " ")
    for (i = 1; i <= n; i++) KEYWORD[b[i]] = 1
    n = split("if then elif else do while until ! { time", b, " ")
    for (i = 1; i <= n; i++) LEADKW[b[i]] = 1
    NC = 0 # commands found
    ARRAYALL = "^\\$(@|\\{@\\}|\\{[A-Za-z_][A-Za-z0-9_]*\\[@\\]\\})$"
}

{ TEXT[FILENAME] = TEXT[FILENAME] $0 "\n" }
FNR == 1 { NFILES++; FILES[NFILES] = FILENAME }

END {
    for (f = 1; f <= NFILES; f++) {
        name = FILES[f]
        if (name ~ /(^|\/)(GNU)?[Mm]akefile$|\.mk$/) makefile(name, TEXT[name])
        else if (name ~ /(^|\/)Dockerfile[^\/]*$/) dockerfile(name, TEXT[name])
        else if (name ~ /\.[ch]$/) cfile(name, TEXT[name])
        else {
            shebang(name, TEXT[name])
            tokenize(TEXT[name], name, 0)
        }
    }
    # NAME=program or NAME=${OTHER:-program}: "$NAME" as a command word runs it (per file).
    for (c = 1; c <= NC; c++)
        for (i = 1; i <= CN[c] && match(CV[c, i], /^[A-Za-z_][A-Za-z0-9_]*=/); i++) {
            v = substr(CV[c, i], RLENGTH + 1); nm = substr(CV[c, i], 1, RLENGTH - 1)
            if (CD[c, i] && match(v, /^\$\{[A-Za-z_][A-Za-z0-9_]*:?-[^$`}]*\}$/)) { sub(/^[^-]*-/, "", v); sub(/\}$/, "", v) }
            else if (CD[c, i]) continue
            if (v ~ /^([A-Za-z0-9_.+-]+|\/[A-Za-z0-9_.+\/-]+)$/) VARCMD[CFILE[c], nm] = v
        }
    # Wrapper functions: known once their own calls are, so repeat until nothing changes.
    do {
        changed = 0
        for (c = 1; c <= NC; c++) {
            if (CFN[c] == "" || CSKIP[c]) continue
            r = select(c, 1, 1)
            if (r ~ /^shift /) SHIFTS[c] = substr(r, 7) + 0
            else if (r ~ /^passthrough/ && !(CFN[c] in WRAP)) {
                s = substr(r, 13) + 0
                for (d = 1; d < c; d++) if (CFN[d] == CFN[c] && CFILE[d] == CFILE[c] && d in SHIFTS) s += SHIFTS[d]
                WRAP[CFN[c]] = s
                changed = 1
            }
        }
    } while (changed)
    for (c = 1; c <= NC; c++) if (!CSKIP[c]) select(c, 1, 0) # NC grows: bash -c CODE, eval, trap
}

# ---- output --------------------------------------------------------------------------------

function emit(c, prog) {
    if (prog == "") return
    printf "%s\t%d\t%s\n", CFILE[c], CLINE[c], prog
}

# ---- the command word of one simple command ---------------------------------------------------

# Walks command C from word I; returns "passthrough N" when its command is "$@" (N more of
# the function's arguments skipped), "shift N" for shift, "" otherwise. INFER: only find out,
# print nothing.
function select(c, i, infer,    n, w, q, j, k, code, a, m) {
    n = CN[c]
    while (i <= n) {
        w = CV[c, i]
        q = CQ[c, i] || CD[c, i]
        if (match(w, /^[A-Za-z_][A-Za-z0-9_]*/) && (CFQ[c, i] < 0 || CFQ[c, i] >= RLENGTH) &&
            w ~ /^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=/) { i++; continue } # NAME=value
        if (!q && (w in KEYWORD)) {
            if (w in LEADKW || w == "fi" || w == "done" || w == "esac" || w == "}") { i++; continue }
            return ""                                   # for/case/[[/((/function: no command here
        }
        if (CD[c, i]) {
            if (w == "$@" || w == "${@}" || w == "$*") return "passthrough 0"
            if (!CQ[c, i] && tolower(w) ~ /^\$(sudo|\{sudo\})$/) { i++; continue } # sudo or nothing
            if (match(w, /^\$\{[A-Za-z_][A-Za-z0-9_]*\[[@*]\]\}$/)) {    # "${CURL[@]}"
                a = substr(w, 3, index(w, "[") - 3)
                if (!infer && (a in ARRCMD)) {
                    m = split(ARRCMD[a], k, " ")
                    for (j = 1; j <= m; j++) emit(c, k[j])
                }
                return ""
            }
            if (!match(w, /^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/)) return ""
            a = w; gsub(/[${}]/, "", a)                 # "$cc", set to a program in this file
            if (!((CFILE[c], a) in VARCMD)) return ""
            w = VARCMD[CFILE[c], a]
        }
        if (w in BUILTIN) {
            if (w == "shift") return "shift " (i < n && CV[c, i + 1] ~ /^[0-9]+$/ ? CV[c, i + 1] : 1)
            if (w == "exec") {
                i++
                while (i <= n && CV[c, i] ~ /^-/) { if (CV[c, i] == "-a") i++; i++ }
                continue
            }
            if (w == "command") {
                i++
                while (i <= n && CV[c, i] ~ /^-/) { if (CV[c, i] ~ /[vV]/) return ""; i++ }
                continue
            }
            if (!infer && w == "eval") {
                code = ""
                for (j = i + 1; j <= n; j++) code = code " " CV[c, j]
                tokenize(code, CFILE[c], CLINE[c])
            }
            if (!infer && w == "trap" && i < n && CV[c, i + 1] !~ /^-/ && CV[c, i + 1] != "")
                tokenize(CV[c, i + 1], CFILE[c], CLINE[c])
            return ""
        }
        if (w in FUNC) {
            if (!(w in WRAP)) return ""
            # f() { g "$@"; } with g a wrapper skipping S arguments: f's own arguments fill
            # g's from "$@" on, so f is a wrapper too.
            for (j = 1; j <= WRAP[w] && i + j <= n; j++)
                if (CV[c, i + j] == "$@" && CD[c, i + j]) return "passthrough " (WRAP[w] - j + 1)
            i += 1 + WRAP[w]
            continue
        }
        # A program. A relative path is the project's own file.
        if (w ~ /\// && w !~ /^\//) return ""
        if (!infer) emit(c, w)
        sub(/.*\//, "", w)
        i++
        if (w == "setsid" || w == "nohup" || w == "stdbuf" || w == "sudo" || w == "nice" || w == "chroot") {
            while (i <= n && CV[c, i] ~ /^-/) {
                if ((w == "stdbuf" || w == "nice" || w == "sudo") && CV[c, i] ~ /^-[a-zA-Z]$/ && CV[c, i] != "-E") i++
                i++
            }
            if (w == "chroot") i++                      # the new root
            continue
        }
        if (w == "timeout") {
            while (i <= n && CV[c, i] ~ /^-/) { if (CV[c, i] ~ /^-[sk]$/) i++; i++ }
            i++                                         # the duration
            continue
        }
        if (w == "env") {
            while (i <= n && (CV[c, i] ~ /^-/ || CV[c, i] ~ /^[A-Za-z_][A-Za-z0-9_]*=/ || CD[c, i] && CV[c, i] ~ ARRAYALL)) {
                if (CV[c, i] ~ /^-[uCS]$/) i++
                i++
            }
            continue
        }
        if (w == "runuser" || w == "su") {
            while (i <= n && CV[c, i] != "--" && CV[c, i] ~ /^-/) {
                if (CV[c, i] == "-c") { if (!infer) tokenize(CV[c, i + 1], CFILE[c], CLINE[c]); return "" }
                if (CV[c, i] ~ /^-[ugl]$/) i++
                i++
            }
            if (i <= n && CV[c, i] == "--") i++
            continue
        }
        if (w == "xargs") {
            while (i <= n && CV[c, i] ~ /^-/) { if (CV[c, i] ~ /^-[nPILdaEs]$/) i++; i++ }
            continue
        }
        if (w ~ /^(ba|da|)sh$/) {
            for (j = i; j <= n && CV[c, j] ~ /^-/; j++)
                if (CV[c, j] ~ /^-[a-z]*c/) { if (!infer && j < n) tokenize(CV[c, j + 1], CFILE[c], CLINE[c]); return "" }
            return ""
        }
        if (w == "find") {
            for (; i <= n; i++) if (CV[c, i] ~ /^-(exec|execdir|ok|okdir)$/) { i++; break }
            if (i > n) return ""
            continue
        }
        return ""
    }
    return ""
}

# ---- tokenizer ------------------------------------------------------------------------------

# Reads STR (the code of FILE) and adds each simple command to C*: words CV (quotes removed,
# expansions kept as written), CD (has an expansion), CQ (was quoted). LINE 0: line numbers
# from the text; otherwise every command is said to be on LINE.
function tokenize(str, file, line,    saved) {
    saved = SP
    SP++                                                # a stack of texts: eval and bash -c nest
    ST[SP] = S; SN[SP] = N; SPOS[SP] = P; SFILE[SP] = F; SLINE[SP] = FIXLINE; SDEPTH[SP] = DEPTH
    S = str; N = length(S); P = 1; F = file; FIXLINE = line; DEPTH = 0; NHD = 0
    FNDEPTH = 0; BRACE = 0; PENDFN = ""
    NL = 0
    for (i_ = 1; i_ <= N; i_ = j_ + 1) {                # line starts, for line_of()
        NL++; LSTART[NL] = i_
        j_ = index(substr(S, i_), "\n"); if (j_ == 0) break
        j_ += i_ - 1
    }
    parse_seq("EOF")
    S = ST[SP]; N = SN[SP]; P = SPOS[SP]; F = SFILE[SP]; FIXLINE = SLINE[SP]; DEPTH = SDEPTH[SP]
    SP = saved
}

function line_of(pos,    lo, hi, mid) {
    if (FIXLINE) return FIXLINE
    lo = 1; hi = NL
    while (lo < hi) { mid = int((lo + hi + 1) / 2); if (LSTART[mid] <= pos) lo = mid; else hi = mid - 1 }
    return lo
}

function ch(k) { return substr(S, P + k, 1) }

# Starts a command buffer one level down (for $(...), `...`, (...), <(...)).
function push_level() {
    DEPTH++
    WN[DEPTH] = 0; WON[DEPTH] = 0; COND[DEPTH] = 0; CASEHDR[DEPTH] = 0; REDIR[DEPTH] = 0
}

# TERM: "EOF", ")", "`" or "case" (a case item: ends at ;; ;& ;;& or at esac). Returns "esac"
# when a case item ended on esac.
function parse_seq(term,    c, c2) {
    push_level()
    while (P <= N) {
        if (ESACSEEN && term == "case") { ESACSEEN = 0; WN[DEPTH] = 0; DEPTH--; return "esac" }
        c = ch(0); c2 = ch(1)
        if (c == "\\" && c2 == "\n") { P += 2; continue }
        if (c == " " || c == "\t") { end_word(); P++; continue }
        if (c == "\n") {
            end_word(); flush(); P++
            if (NHD) heredocs()
            continue
        }
        if (c == "#" && !WON[DEPTH]) { while (P <= N && ch(0) != "\n") P++; continue }
        if (COND[DEPTH] && (c == "(" || c == ")" || c == "<" || c == ">" || c == "&" || c == "|")) {
            word_start(); WV[DEPTH] = WV[DEPTH] c; P++; continue
        }
        if ((c == "<" || c == ">") && c2 == "(") { word_part(); continue } # process substitution
        if (c == ";") {
            end_word(); flush()
            if (term == "case" && (c2 == ";" || c2 == "&")) {
                P += 2; if (ch(0) == "&") P++
                DEPTH--; return ""
            }
            P++; continue
        }
        if (c == "&") {
            if (c2 == ">") { end_word(); P += 2; if (ch(0) == ">") P++; REDIR[DEPTH] = 1; continue }
            end_word(); flush(); P += (c2 == "&") ? 2 : 1; continue
        }
        if (c == "|") { end_word(); flush(); P += (c2 == "|" || c2 == "&") ? 2 : 1; continue }
        if (c == "<" || c == ">") { redirection(); continue }
        if (c == "(") {
            if (WON[DEPTH] && WV[DEPTH] ~ /^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=$/ && !WQ[DEPTH] && !WD[DEPTH]) {
                array_literal(); continue
            }
            if (funcdef()) continue
            end_word()
            if (c2 == "(" && (at_cmd_start() || WN[DEPTH] == 1 && WW[DEPTH, 1] == "for")) { P += 2; skip_arith(2); add_word("((", 0, 0, P, -1); continue }
            flush(); P++
            parse_seq(")")
            continue
        }
        if (c == ")") {
            end_word(); flush(); P++
            if (term == ")") { DEPTH--; return "" }
            continue
        }
        if (c == "`" && term == "`") { end_word(); flush(); P++; DEPTH--; return "" }
        word_part()
    }
    end_word(); flush()
    DEPTH--
    if (ESACSEEN && term == "case") { ESACSEEN = 0; return "esac" }
    return ""
}

function at_cmd_start(    k) {
    for (k = 1; k <= WN[DEPTH]; k++) if (WQW[DEPTH, k] || !(WW[DEPTH, k] in LEADKW)) return 0
    return 1
}

# name() or function name(): records the function; its body is the next { ... }.
function funcdef(    k, name) {
    k = P + 1
    while (substr(S, k, 1) == " " || substr(S, k, 1) == "\t") k++
    if (substr(S, k, 1) != ")") return 0
    end_word()
    if (WN[DEPTH] == 0 && PENDFN != "") name = PENDFN
    else if (WN[DEPTH] == 1) name = WW[DEPTH, 1]
    else if (WN[DEPTH] == 2 && WW[DEPTH, 1] == "function") name = WW[DEPTH, 2]
    else return 0
    if (name !~ /^[A-Za-z_][A-Za-z0-9_:.-]*$/) return 0
    FUNC[name] = 1; PENDFN = name
    WN[DEPTH] = 0
    P = k + 1
    return 1
}

function redirection(    c) {
    if (WON[DEPTH] && !WQ[DEPTH] && !WD[DEPTH] && WV[DEPTH] ~ /^([0-9]+|\{[A-Za-z_][A-Za-z0-9_]*\})$/) WON[DEPTH] = 0
    else end_word()
    if (substr(S, P, 3) == "<<<") { P += 3; REDIR[DEPTH] = 1; return }
    if (substr(S, P, 2) == "<<") { P += 2; heredoc_op(); return }
    c = substr(S, P, 2)
    if (c == ">>" || c == ">|" || c == ">&" || c == "<&" || c == "<>") P += 2; else P++
    REDIR[DEPTH] = 1
}

# << WORD or <<- WORD: the body starts after the current line.
function heredoc_op(    strip, d, q, c) {
    strip = 0
    if (ch(0) == "-") { strip = 1; P++ }
    while (ch(0) == " " || ch(0) == "\t") P++
    d = ""; q = 0
    while (P <= N) {
        c = ch(0)
        if (c ~ /[ \t\n;&|<>()]/) break
        if (c == "'" || c == "\"") { q = 1; P++; while (P <= N && ch(0) != c) { d = d ch(0); P++ }; P++; continue }
        if (c == "\\") { q = 1; d = d ch(1); P += 2; continue }
        d = d c; P++
    }
    NHD++; HDD[NHD] = d; HDQ[NHD] = q; HDS[NHD] = strip
}

function heredocs(    k, e, line) {
    for (k = 1; k <= NHD; k++) {
        while (P <= N) {
            e = index(substr(S, P), "\n"); e = e ? P + e - 1 : N + 1
            line = substr(S, P, e - P)
            if (HDS[k]) sub(/^\t+/, "", line)
            if (line == HDD[k]) { P = e + 1; break }
            if (!HDQ[k]) dq_region(e)                   # $(...) in an unquoted body runs
            P = e + 1
        }
    }
    NHD = 0
}

# Scans S up to position END as the inside of a here-document: only expansions matter.
function dq_region(end,    c) {
    push_level(); word_start()
    while (P < end) {
        c = ch(0)
        if (c == "\\") { P += 2; continue }
        if (c == "$" || c == "`") { expansion(); continue }
        P++
    }
    WON[DEPTH] = 0
    DEPTH--
}

# NAME=( words ): data, not commands; a literal first word is remembered for "${NAME[@]}".
function array_literal(    name, first, k, c) {
    name = WV[DEPTH]; sub(/(\[.*)?\+?=$/, "", name)
    first = (WV[DEPTH] !~ /\+=$/)
    P++
    push_level()
    while (P <= N) {
        c = ch(0)
        if (c == " " || c == "\t" || c == "\n") { end_word(); P++; continue }
        if (c == "#" && !WON[DEPTH]) { while (P <= N && ch(0) != "\n") P++; continue }
        if (c == ")") { end_word(); P++; break }
        word_part()
    }
    if (first && WN[DEPTH] >= 1 && !WQW[DEPTH, 1] && !WDW[DEPTH, 1] && WW[DEPTH, 1] ~ /^[A-Za-z0-9_.+\/-]+$/ && WW[DEPTH, 1] !~ /^-/)
        ARRCMD[name] = (name in ARRCMD) ? ARRCMD[name] " " WW[DEPTH, 1] : WW[DEPTH, 1]
    DEPTH--
    WD[DEPTH] = 1                                       # the assignment word itself
}

function word_start() {
    if (!WON[DEPTH]) { WON[DEPTH] = 1; WV[DEPTH] = ""; WD[DEPTH] = 0; WQ[DEPTH] = 0; WFQ[DEPTH] = -1; WS[DEPTH] = P }
}

# One piece of a word: a quoted string, an escape, an expansion or a plain character.
function word_part(    c, c2) {
    word_start()
    c = ch(0); c2 = ch(1)
    if (WFQ[DEPTH] < 0 && (c == "'" || c == "\"" || c == "\\" || c == "$" || c == "`")) WFQ[DEPTH] = length(WV[DEPTH])
    if (c == "'") {
        WQ[DEPTH] = 1; P++
        while (P <= N && ch(0) != "'") { WV[DEPTH] = WV[DEPTH] ch(0); P++ }
        P++; return
    }
    if (c == "$" && c2 == "'") {
        WQ[DEPTH] = 1; P += 2
        while (P <= N && ch(0) != "'") {
            if (ch(0) == "\\") { WV[DEPTH] = WV[DEPTH] ch(1); P += 2; continue }
            WV[DEPTH] = WV[DEPTH] ch(0); P++
        }
        P++; return
    }
    if (c == "\"" || (c == "$" && c2 == "\"")) { WQ[DEPTH] = 1; P += (c == "$") ? 2 : 1; dquote(); return }
    if (c == "\\") { WQ[DEPTH] = 1; if (c2 != "\n") WV[DEPTH] = WV[DEPTH] c2; P += 2; return }
    if (c == "$" || c == "`") { expansion(); return }
    if ((c == "<" || c == ">") && c2 == "(") {
        WD[DEPTH] = 1; WV[DEPTH] = WV[DEPTH] "$__X"; P += 2; parse_seq(")"); return
    }
    WV[DEPTH] = WV[DEPTH] c; P++
}

function dquote(    c) {
    while (P <= N) {
        c = ch(0)
        if (c == "\"") { P++; return }
        if (c == "\\") {
            if (ch(1) ~ /[$`"\\]/) WV[DEPTH] = WV[DEPTH] ch(1)
            else if (ch(1) != "\n") WV[DEPTH] = WV[DEPTH] c ch(1)
            P += 2; continue
        }
        if (c == "$" || c == "`") { expansion(); continue }
        WV[DEPTH] = WV[DEPTH] c; P++
    }
}

# At $ or `: $(...), $((...)), ${...}, $NAME, `...`; the word becomes dynamic.
function expansion(    c2, start) {
    start = P
    c2 = ch(1)
    if (ch(0) == "`") { WD[DEPTH] = 1; P++; parse_seq("`"); WV[DEPTH] = WV[DEPTH] "$__X"; return }
    if (c2 == "(" && ch(2) == "(") { WD[DEPTH] = 1; P += 3; skip_arith(2); WV[DEPTH] = WV[DEPTH] "$__X"; return }
    if (c2 == "(") { WD[DEPTH] = 1; P += 2; parse_seq(")"); WV[DEPTH] = WV[DEPTH] "$__X"; return }
    if (c2 == "{") { WD[DEPTH] = 1; P += 2; skip_braces(); WV[DEPTH] = WV[DEPTH] substr(S, start, P - start); return }
    if (c2 ~ /[A-Za-z_]/) {
        WD[DEPTH] = 1; P++
        while (ch(0) ~ /[A-Za-z0-9_]/) P++
        WV[DEPTH] = WV[DEPTH] substr(S, start, P - start); return
    }
    if (c2 ~ /[0-9@*#?$!-]/) { WD[DEPTH] = 1; P += 2; WV[DEPTH] = WV[DEPTH] "$" c2; return }
    WV[DEPTH] = WV[DEPTH] "$"; P++
}

# After "${": to its "}" (bash does not pair a plain "{" inside), through nested expansions
# and quotes.
function skip_braces(    c) {
    while (P <= N) {
        c = ch(0)
        if (c == "\\") { P += 2; continue }
        if (c == "'") { P++; while (P <= N && ch(0) != "'") P++; P++; continue }
        if (c == "\"") { push_level(); word_start(); P++; dquote(); DEPTH--; continue }
        if (c == "$" || c == "`") { push_level(); word_start(); expansion(); DEPTH--; continue }
        if (c == "}") { P++; return }
        P++
    }
}

# Inside (( or $((: to the parentheses that close DEPTH0 open ones.
function skip_arith(depth0,    c, depth) {
    depth = depth0
    while (P <= N) {
        c = ch(0)
        if (c == "$" || c == "`") { push_level(); word_start(); expansion(); DEPTH--; continue }
        if (c == "(") depth++
        if (c == ")" && --depth == 0) { P++; return }
        P++
    }
}

function end_word(    w) {
    if (!WON[DEPTH]) return
    WON[DEPTH] = 0
    if (REDIR[DEPTH]) { REDIR[DEPTH] = 0; return }    # a redirection's target
    w = WV[DEPTH]
    if (!WQ[DEPTH] && !WD[DEPTH]) {
        if (w == "[[" && at_cmd_start()) COND[DEPTH] = 1
        else if (w == "]]" && COND[DEPTH]) COND[DEPTH] = 0
        else if (w == "case" && at_cmd_start()) CASEHDR[DEPTH] = 1
        else if (w == "esac" && at_cmd_start() && INCASE) { ESACSEEN = 1; return }
        else if (WN[DEPTH] == 1 && WW[DEPTH, 1] == "function" && !WQW[DEPTH, 1] && w ~ /^[A-Za-z_][A-Za-z0-9_:.-]*$/) {
            FUNC[w] = 1; PENDFN = w; WN[DEPTH] = 0; return   # function NAME: its body follows
        }
        else if (w == "{" && at_cmd_start()) { if (PENDFN != "") { FNDEPTH++; FNNAME[FNDEPTH] = PENDFN; FNBRACE[FNDEPTH] = BRACE; PENDFN = "" }; BRACE++ }
        else if (w == "}" && at_cmd_start()) { BRACE--; if (FNDEPTH && BRACE == FNBRACE[FNDEPTH]) FNDEPTH-- }
    }
    add_word(w, WD[DEPTH], WQ[DEPTH], WS[DEPTH], WFQ[DEPTH])
    if (CASEHDR[DEPTH] && WN[DEPTH] == 3 && w == "in" && !WQ[DEPTH]) { flush(); case_body() }
}

function add_word(w, d, q, pos, fq,    k) {
    k = ++WN[DEPTH]
    WW[DEPTH, k] = w; WDW[DEPTH, k] = d; WQW[DEPTH, k] = q; WPOS[DEPTH, k] = pos; WFQW[DEPTH, k] = fq
}

function flush(    c, k) {
    if (WN[DEPTH] == 0) { CASEHDR[DEPTH] = 0; return }
    c = ++NC
    CFILE[c] = F; CLINE[c] = line_of(WPOS[DEPTH, 1]); CN[c] = WN[DEPTH]
    CFN[c] = FNDEPTH ? FNNAME[FNDEPTH] : ""
    for (k = 1; k <= WN[DEPTH]; k++) { CV[c, k] = WW[DEPTH, k]; CD[c, k] = WDW[DEPTH, k]; CQ[c, k] = WQW[DEPTH, k]; CFQ[c, k] = WFQW[DEPTH, k] }
    WN[DEPTH] = 0; CASEHDR[DEPTH] = 0; COND[DEPTH] = 0
    if (PENDFN != "" && !(CN[c] == 1 && CV[c, 1] == "{")) PENDFN = ""
}

# After "case WORD in": patterns (not commands) and their command lists, to esac.
function case_body(    c, depth, r, saved) {
    saved = INCASE
    while (P <= N) {
        c = ch(0)
        if (c == " " || c == "\t" || c == "\n" || c == ";") { P++; if (c == "\n" && NHD) heredocs(); continue }
        if (c == "#") { while (P <= N && ch(0) != "\n") P++; continue }
        if (substr(S, P, 4) == "esac" && substr(S, P + 4, 1) ~ /^([ \t\n;&|)]|)$/) { P += 4; break }
        if (c == "(") P++
        depth = 0                                       # the pattern, to its ")"
        while (P <= N) {
            c = ch(0)
            if (c == "\\") { P += 2; continue }
            if (c == "'" || c == "\"" || c == "$" || c == "`") { push_level(); word_part(); WON[DEPTH] = 0; DEPTH--; continue }
            if (c == "(") depth++
            if (c == ")" && depth-- == 0) { P++; break }
            P++
        }
        INCASE = 1
        r = parse_seq("case")
        INCASE = saved
        if (r == "esac") break
    }
    INCASE = saved
}

# ---- other kinds of file --------------------------------------------------------------------

function shebang(file, text,    l, w, n) {
    if (substr(text, 1, 2) != "#!") return
    l = substr(text, 3, index(text, "\n") - 3)
    n = split(l, w, " ")
    if (n == 0) return
    NC++; CFILE[NC] = file; CLINE[NC] = 1; CN[NC] = 0; CSKIP[NC] = 1
    emit(NC, w[1])
    if (w[1] ~ /\/env$/ && n >= 2) emit(NC, w[2])
}

function makefile(file, text,    n, lines, k, code, first, l, m) {
    n = split(text, lines, "\n")
    for (k = 1; k <= n; k++) {
        l = make_simple_vars(lines[k])
        while (match(l, /\$\(shell [^)]*\)/)) {      # $(shell ...) anywhere
            tokenize(make_vars(substr(l, RSTART + 8, RLENGTH - 9)), file, k)
            l = substr(l, RSTART + RLENGTH)
        }
        if (substr(lines[k], 1, 1) != "\t") continue
        first = k; code = substr(lines[k], 2)
        while (code ~ /\\$/ && k < n) { k++; code = substr(code, 1, length(code) - 1) " " lines[k] }
        sub(/^[ \t]*[-@+]*/, "", code)
        tokenize(make_vars(code), file, first)
    }
}

# make's own expansions in a recipe: $$ is $, the usual program variables are their default
# programs, any other $(VAR) is a value known only when make runs.
function make_vars(s) {
    s = make_simple_vars(s)
    gsub(/\$\$/, "\001", s)
    gsub(/\$MAKEVAR/, "\002", s)
    while (gsub(/\$[({][a-z]+ [^$()]*[)}]/, "\002", s)) { } # $(dir ...), $(call ...)
    gsub(/\002/, "$MAKEVAR", s)
    gsub(/\001/, "$", s)
    return s
}

function make_simple_vars(s) {
    gsub(/\$\$/, "\001", s)
    gsub(/\$\(MAKE\)/, "make", s); gsub(/\$\(CC\)/, "cc", s); gsub(/\$\(AR\)/, "ar", s)
    gsub(/\$[({][A-Za-z_][A-Za-z0-9_]*[)}]/, "$MAKEVAR", s)
    gsub(/\$[@<^*?+]/, "$MAKEVAR", s)
    gsub(/\001/, "$$", s)
    return s
}

function dockerfile(file, text,    n, lines, k, code, first) {
    n = split(text, lines, "\n")
    for (k = 1; k <= n; k++) {
        if (lines[k] !~ /^HEALTHCHECK/) continue
        first = k; code = lines[k]
        while (code ~ /\\$/ && k < n) { k++; code = substr(code, 1, length(code) - 1) " " lines[k] }
        if (!sub(/^HEALTHCHECK.* CMD +/, "", code)) continue
        if (code ~ /^\[/) continue                      # exec form: rare, not parsed
        tokenize(code, file, first)
    }
}

# system()/popen(): a literal, or the literal printed into the buffer passed; execlp()/
# execvp()/posix_spawnp(): a literal program name.
function cfile(file, text,    n, lines, k, l, arg, j, lit) {
    n = split(text, lines, "\n")
    for (k = 1; k <= n; k++) {
        l = lines[k]
        if (match(l, /(^|[^A-Za-z0-9_])(system|popen)\([ ]*/)) {
            arg = substr(l, RSTART + RLENGTH)
            lit = ""
            if (substr(arg, 1, 1) == "\"") lit = c_literal(arg)
            else if (match(arg, /^[A-Za-z_][A-Za-z0-9_]*/)) {
                arg = substr(arg, 1, RLENGTH)
                for (j = k; j >= 1 && j > k - 40; j--)
                    if (match(lines[j], "s?n?printf\\(" arg "[ ]*,[^\"]*\"")) { lit = c_literal(substr(lines[j], RSTART + RLENGTH - 1)); break }
            }
            if (lit != "") tokenize(lit, file, k)
        }
        if (match(l, /(execlp|execvp|execvpe|posix_spawnp)\([^"]*"[^"]+"/)) {
            lit = substr(l, RSTART, RLENGTH); sub(/^[^"]*"/, "", lit); sub(/"$/, "", lit)
            if (lit !~ /\//) { NC++; CFILE[NC] = file; CLINE[NC] = k; CN[NC] = 0; CSKIP[NC] = 1; emit(NC, lit) }
        }
    }
}

function c_literal(s,    out, i, c) {
    out = ""
    for (i = 2; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") { i++; c = substr(s, i, 1); if (c == "n") c = "\n"; out = out c; continue }
        if (c == "\"") break
        out = out c
    }
    gsub(/%[-0-9.]*[a-z]+/, "X", out)                   # printf conversions: values
    return out
}
