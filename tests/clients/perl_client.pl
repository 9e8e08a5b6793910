# Perl DBI with DBD::MariaDB against a Borealis server: placeholders (client-side and
# server-side prepare), NULLs, quoting, last_insert_id, transactions, errors with their
# code and SQLSTATE, and the table catalog.
#
# Usage: perl perl_client.pl PORT PASSWORD   (prints "perl: all checks passed")
use strict;
use warnings;
use DBI;

sub check {
    my ($cond, $what) = @_;
    return if $cond;
    print "FAILED: $what\n";
    exit 1;
}

my ($port, $pw) = @ARGV;
my $dbh = DBI->connect("DBI:MariaDB:host=127.0.0.1;port=$port", "root", $pw,
    {RaiseError => 1, PrintError => 0, AutoCommit => 1});
$dbh->do("CREATE DATABASE pt");
$dbh->do("USE pt");
$dbh->do("CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20), price DECIMAL(8,2))");
my $ins = $dbh->prepare("INSERT INTO t (name, price) VALUES (?, ?)");
$ins->execute("a'b\\c", "1.50");
$ins->execute(undef, undef);
check($dbh->last_insert_id(undef, undef, undef, undef) == 2, "last_insert_id");
my $rows = $dbh->selectall_arrayref("SELECT id, name, price FROM t WHERE id > ? ORDER BY id", {}, 0);
check(@$rows == 2 && $rows->[0][1] eq "a'b\\c" && $rows->[0][2] eq "1.50"
    && !defined $rows->[1][1], "rows back");

$dbh->begin_work;
$dbh->do("DELETE FROM t");
$dbh->rollback;
check(($dbh->selectrow_array("SELECT COUNT(*) FROM t"))[0] == 2, "rollback");

my $sp = $dbh->prepare("SELECT ? + 1, ?", {mariadb_server_prepare => 1});
$sp->execute(41, "x");
my @r = $sp->fetchrow_array;
check($r[0] == 42 && $r[1] eq "x", "server-side prepare");

eval { $dbh->do("SELECT * FROM nosuch") };
check($dbh->err == 1146 && $dbh->state eq "42S02", "error code and state");
my @tables = $dbh->tables(undef, "pt", "%", "TABLE");
check("@tables" eq "`pt`.`t`", "tables: @tables");
$dbh->disconnect;
print "perl: all checks passed\n";
