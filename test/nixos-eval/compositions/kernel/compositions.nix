# A composition per kernel (the original's kernel example).
{
  latest = import ./latest.nix;
}
