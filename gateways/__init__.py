"""Gateways: one async task per data source, turning device traffic into raw messages.

A gateway only receives and hands over; decoding into readings is done by the payload
profiles in :mod:`gateways.profiles`, normalising and storing by :mod:`edge`.
"""
