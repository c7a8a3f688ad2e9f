# A perl workload for tests/real: hashes of arrays, regexes, sort, sprintf,
# closures, references and local/our. Deterministic output.
use strict; use warnings;
my %h;
for my $i (1 .. 5000) { push @{ $h{ $i % 97 } }, $i * 3; }
my $sum = 0; $sum += scalar(@{ $h{$_} }) for keys %h;
print "hash ", scalar(keys %h), " $sum\n";
my $text = join(" ", map { sprintf("w%03d", $_ * 7 % 1000) } 1 .. 3000);
my %count; $count{$1}++ while $text =~ /w(\d)\d\d/g;
print "regex ", join(",", map { "$_=$count{$_}" } sort keys %count), "\n";
my @sorted = sort { $a->[1] <=> $b->[1] or $a->[0] cmp $b->[0] } map { [ "k$_", $_ % 13 ] } 1 .. 2000;
print "sort $sorted[0][0] $sorted[-1][0]\n";
my @subs = map { my $k = $_; sub { $_[0] * $k } } 1 .. 10;
my $acc = 1; $acc = $_->($acc) % 1000003 for @subs;
print "closures $acc\n";
my $tree = {}; my $node = $tree;
for my $d (1 .. 200) { $node->{child} = { depth => $d, data => [ (1) x $d ] }; $node = $node->{child}; }
my $depth = 0; $node = $tree; while ($node->{child}) { $node = $node->{child}; $depth++ }
print "tree $depth\n";
my $s = "abc" x 1000; (my $t = $s) =~ s/b/BB/g; print "subst ", length($t), "\n";
eval { die { code => 42 } }; print "eval $@->{code}\n";
