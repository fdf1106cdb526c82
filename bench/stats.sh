# stats.sh — sourced by the bench scripts: the figures they reduce their
# repeated rounds to.

# median of the numbers given as arguments (the upper one of an even count's middle two)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# smallest and largest of the numbers given as arguments
smallest() { printf '%s\n' "$@" | sort -g | head -1; }
largest() { printf '%s\n' "$@" | sort -g | tail -1; }
