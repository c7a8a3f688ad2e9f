# A Tcl workload for tests/real: dicts, lists, strings, regexp, procs, catch.
set d [dict create]
for {set i 0} {$i < 3000} {incr i} { dict set d k[expr {$i % 101}] $i [string repeat x [expr {$i % 40}]] }
puts "dict [dict size $d] [llength [dict get $d k7]]"
set l {}
for {set i 0} {$i < 5000} {incr i} { lappend l [expr {($i * 7919) % 10007}] }
set s [lsort -integer $l]
puts "sort [lindex $s 0] [lindex $s end] [llength [lsort -unique $s]]"
proc fib {n} { if {$n < 2} { return $n }; expr {[fib [expr {$n - 1}]] + [fib [expr {$n - 2}]]} }
puts "fib [fib 20]"
set text [string repeat "alpha beta42 gamma7 " 200]
puts "regexp [regexp -all {[a-z]+[0-9]+} $text]"
if {[catch {error "boom"} msg]} { puts "catch $msg" }
set str ""
foreach w {one two three four five} { append str [string toupper $w] "-" }
puts "string [string trimright $str -] [string length [format %08.3f 3.14159]]"
array set a {}
for {set i 0} {$i < 1000} {incr i} { set a($i) [list $i [expr {$i * $i}]] }
puts "array [array size a]"
