# work.pl: hashes, arrays and regular expressions, deterministic output.
use strict; use warnings;
my %h; my @a;
for my $i (1 .. 40000) {
  my $k = sprintf("key%05d-%s", $i % 9973, ("x" x ($i % 17)));
  $h{$k} .= "$i,";
  push @a, [$i, $k] if $i % 3 == 0;
}
my $n = 0;
for my $k (sort keys %h) { $n++ if $h{$k} =~ /(\d+),\d+,$/ }
my @s = sort { $b->[0] <=> $a->[0] } @a;
print scalar(keys %h), " $n ", scalar(@s), " $s[0][1]\n";
