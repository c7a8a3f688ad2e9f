# A bash workload for tests/real: arrays, associative arrays, string ops,
# arithmetic, functions, subshells and a here-document.
declare -A count
words=()
for i in $(seq 1 2000); do words+=("w$((i * 7 % 113))"); done
for w in "${words[@]}"; do count[$w]=$(( ${count[$w]:-0} + 1 )); done
echo "assoc ${#count[@]} ${count[w7]}"
s=""
for i in {1..500}; do s+="${i}x"; done
echo "string ${#s} ${s:0:10} ${s//x/}" | cut -c1-60
fact() { local n=$1; (( n <= 1 )) && { echo 1; return; }; echo $(( n * $(fact $((n - 1))) )); }
echo "fact $(fact 15)"
sorted=$(printf '%s\n' "${words[@]}" | sort -u | wc -l)
echo "sorted $sorted"
while read -r a b; do echo "heredoc $a-$b"; done <<END
one two
three four
END
