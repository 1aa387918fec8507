# Input of the perl trace of the corpus. Word statistics over a licence text Debian ships: hashes, sorting, sprintf.
use strict; use warnings;
my %count; my @lines;
for my $pass (1 .. 3) {
  open(my $fh, '<', '/usr/share/common-licenses/GPL-3') or die "GPL-3: $!";
  while (my $line = <$fh>) {
    chomp $line; push @lines, lc $line;
    $count{lc $_}++ for $line =~ /([A-Za-z']+)/g;
  }
  close $fh;
}
my @top = sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count;
my $report = join "\n", map { sprintf "%-20s %6d", $_, $count{$_} } @top;
my %bigrams;
for my $l (@lines) { my @w = split /\W+/, $l; $bigrams{"$w[$_] $w[$_+1]"}++ for 0 .. $#w - 1; }
printf "%d words, %d bigrams, %d bytes\n", scalar(@top), scalar(keys %bigrams), length $report;
