#!/usr/bin/perl
# feed.pl [-p BYTES] [-w WARM] RATE SECONDS - JSON lines {"i":K,"t":MS} on
# stdout at a steady RATE a second for SECONDS, each flushed as it is
# written; t is the time it was written (ms since the epoch). bench/wf.sh
# pipes it into one long-lived `sov-wf enqueue` to measure enqueue-to-start
# latency. Lines are scheduled from the start time, so a late one does not
# delay the rest.
#
#   -w WARM   first WARM lines with "t":0 (not measured), 20 ms apart, then
#             a second's pause: the reader and the workers are started and
#             warm (connected, definitions compiled) when the measured
#             lines come
#   -p BYTES  pad each line with blanks (still one JSON value) to BYTES
#             bytes with its newline: a reader that reads fixed blocks of
#             BYTES from a pipe then gets each line as it is written
use strict;
use warnings;
use Getopt::Std;
use Time::HiRes qw(time sleep);

my %o;
my $usage = "usage: feed.pl [-p BYTES] [-w WARM] RATE SECONDS\n";
getopts('p:w:', \%o) or die $usage;
die $usage
  unless @ARGV == 2
  && $ARGV[0] =~ /^[1-9][0-9]{0,5}$/
  && $ARGV[1] =~ /^[1-9][0-9]{0,4}$/;
my ($rate, $secs) = @ARGV;
my $bytes = $o{p} // 0;
my $warm  = $o{w} // 0;
die $usage unless $bytes =~ /^[0-9]{1,8}$/ && $warm =~ /^[0-9]{1,4}$/;
$| = 1;

sub line {
	my ($i, $t) = @_;
	my $s = sprintf "{\"i\":%d,\"t\":%d}", $i, $t;
	$s .= " " x ($bytes - 1 - length $s) if $bytes > length($s) + 1;
	print "$s\n";
}

if ($warm > 0) {
	for my $i (1 .. $warm) {
		line(-$i, 0);
		sleep(0.02);
	}
	sleep(1);
}
my $n  = $rate * $secs;
my $t0 = time;
for my $i (0 .. $n - 1) {
	my $wait = $t0 + $i / $rate - time;
	sleep($wait) if $wait > 0;
	line($i, int(time * 1000));
}
